"""Records of a generated project's migration history, and the state they build."""

from __future__ import annotations

from dataclasses import dataclass, field

SWAPPABLE = ("__setting__", "AUTH_USER_MODEL")
RUN_PYTHON_VALUES = {"int": (1, 0), "bool": (True, False), "char": ("migrated", "")}


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # char, int, bool, text, date, fk, user
    max_length: int = 0
    default: int | str | None = None  # char and int fields; None: no default
    null: bool = False
    to: str = ""  # "app_003.Book" for fk
    related_name: str = ""


@dataclass(frozen=True)
class Index:
    name: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Operation:
    kind: str  # CreateModel, RemoveField, AddField, AlterField, AddIndex, RunPython
    model: str
    fields: tuple[Field, ...] = ()  # CreateModel: all fields; Add/AlterField: the one field
    name: str = ""  # RemoveField, RunPython: the field name
    index: Index | None = None


@dataclass(frozen=True)
class Migration:
    app: str
    name: str
    dependencies: tuple[tuple[str, str], ...]
    operations: tuple[Operation, ...]
    initial: bool = False
    replaces: tuple[tuple[str, str], ...] = ()


@dataclass
class ModelState:
    name: str
    fields: dict[str, Field] = field(default_factory=dict)
    indexes: list[Index] = field(default_factory=list)

    def copy(self) -> ModelState:
        return ModelState(self.name, dict(self.fields), list(self.indexes))


@dataclass
class AppState:
    label: str
    models: dict[str, ModelState] = field(default_factory=dict)
    migrations: list[Migration] = field(default_factory=list)
    counter: int = 0

    def copy(self) -> AppState:
        models = {name: m.copy() for name, m in self.models.items()}
        return AppState(self.label, models, list(self.migrations), self.counter)

    def next_number(self) -> int:
        self.counter += 1
        return self.counter

    def leaf(self) -> tuple[str, str]:
        return (self.label, self.migrations[-1].name)


def apply(state: AppState, operation: Operation) -> None:
    """Apply one operation to an app's state, as Django's state_forwards would."""
    if operation.kind == "CreateModel":
        state.models[operation.model] = ModelState(
            operation.model, {f.name: f for f in operation.fields})
    elif operation.kind in ("AddField", "AlterField"):
        state.models[operation.model].fields[operation.fields[0].name] = operation.fields[0]
    elif operation.kind == "RemoveField":
        del state.models[operation.model].fields[operation.name]
    elif operation.kind == "AddIndex":
        assert operation.index is not None
        state.models[operation.model].indexes.append(operation.index)


def migration_name_fragment(operation: Operation) -> str:
    """Operation.migration_name_fragment of Django's operations."""
    model = operation.model.lower()
    if operation.kind == "CreateModel":
        return model
    if operation.kind == "AddField":
        return f"{model}_{operation.fields[0].name}"
    if operation.kind == "AlterField":
        return f"alter_{model}_{operation.fields[0].name}"
    if operation.kind == "RemoveField":
        return f"remove_{model}_{operation.name}"
    assert operation.index is not None
    return f"{model}_{operation.index.name.lower()}"


def suggest_name(operations: tuple[Operation, ...]) -> str:
    """Migration.suggest_name of Django: fragments joined while they fit in 52 characters."""
    name = migration_name_fragment(operations[0])
    for operation in operations[1:]:
        longer = f"{name}_{migration_name_fragment(operation)}"
        if len(longer) > 52:
            return f"{name}_and_more"
        name = longer
    return name


# The order in which Django's autodetector emits operation kinds (see _detect_changes).
AUTODETECTOR_ORDER = {"CreateModel": 0, "RemoveField": 1, "AddField": 2, "AlterField": 3,
                      "AddIndex": 4}


def autodetector_key(operation: Operation) -> tuple[int, str, str]:
    field_name = operation.fields[0].name if operation.fields else operation.name
    return (AUTODETECTOR_ORDER[operation.kind], operation.model.lower(), field_name)
