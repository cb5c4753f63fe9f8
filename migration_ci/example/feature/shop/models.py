from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=200)
    born = models.DateField(null=True, blank=True)


class Book(models.Model):
    title = models.CharField(max_length=300)
    published = models.DateField(null=True)
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")


class Product(models.Model):
    sku = models.CharField(max_length=32, null=True, blank=True)
    book = models.OneToOneField(Book, on_delete=models.CASCADE)
    price = models.DecimalField(max_digits=8, decimal_places=2)


class Order(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT)
    quantity = models.PositiveIntegerField(default=1)
    note = models.TextField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
