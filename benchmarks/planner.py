"""Plans the migration history of a generated project in memory, from a seed.

Every app's migrations are planned in rounds (round k writes migration k of app 0, 1, 2, ...), and a
cross-app foreign key only points at an app with a lower index, depending on that app's leaf at that
moment, as ``makemigrations`` does. So the graph has no cycles, even with squashes.
"""

from __future__ import annotations

import copy
import random

from history import (
    RUN_PYTHON_VALUES,
    SWAPPABLE,
    AppState,
    Field,
    Index,
    Migration,
    ModelState,
    Operation,
    apply,
    autodetector_key,
    suggest_name,
)

MODEL_WORDS = ("Author", "Book", "Order", "Invoice", "Customer", "Product", "Ticket", "Shipment",
               "Review", "Payment", "Account", "Event", "Project", "Report", "Profile", "Tag")
FIELD_WORDS = (("title", "char"), ("code", "char"), ("amount", "int"), ("count", "int"),
               ("note", "text"), ("created", "date"), ("active", "bool"), ("rank", "int"))
# Every 6th app has foreign keys to the user model, every 5th a data migration at its last
# migration, every 8th a squash of its first half.
USER_EVERY, DATA_EVERY, SQUASH_EVERY = 6, 5, 8
# Weights of the schema operations of a non-initial migration.
OPERATION_WEIGHTS = (("add", 35), ("fk", 15), ("alter", 15), ("remove", 10), ("index", 10),
                     ("model", 10), ("user", 5))


class Planner:
    """Plans migrations for all apps from one seeded random generator."""

    def __init__(self, apps: int, seed: int) -> None:
        self.rng = random.Random(seed)
        width = max(3, len(str(apps - 1)))
        self.apps = [AppState(f"app_{i:0{width}d}") for i in range(apps)]
        # Fixed strides rather than chance, so that even a small project has every feature.
        self.user_apps = {i for i in range(apps) if i % USER_EVERY == 2}
        self.data_apps = {i for i in range(apps) if i % DATA_EVERY == 1}
        self.last_number = 0
        # App index -> the last migration that a squash replaces (no RunPython up to there).
        self.squash_at: dict[int, int] = {}
        self.squashed_states: dict[int, dict[str, ModelState]] = {}

    def copy(self) -> Planner:
        """An independent planner to continue on another branch (records are frozen: shared)."""
        other = copy.copy(self)
        other.rng = random.Random()
        other.rng.setstate(self.rng.getstate())
        other.apps = [a.copy() for a in self.apps]
        return other

    def plan_round(self, number: int) -> None:
        for index in range(len(self.apps)):
            self.add_migration(index, number)

    def add_migration(self, index: int, number: int, avoid: frozenset[str] = frozenset(),
                      allow_run_python: bool = True) -> Migration:
        state = self.apps[index]
        if number == 1:
            operations = tuple(sorted(self.initial_operations(index), key=autodetector_key))
        elif (allow_run_python and number > self.squash_at.get(index, 0)
              and self.run_python_target(state, avoid)
              and (self.rng.random() < 0.04
                   or (index in self.data_apps and number == self.last_number))):
            operations = self.run_python(state, avoid)
            # A data migration is written by hand: makemigrations --empty --name populate_...
            name = f"populate_{operations[0].model.lower()}_{operations[0].name}"
            return self.commit(index, number, operations, name)
        else:
            operations = tuple(sorted(self.schema_operations(index, avoid), key=autodetector_key))
        return self.commit(index, number, operations,
                           "initial" if number == 1 else suggest_name(operations))

    def commit(self, index: int, number: int, operations: tuple[Operation, ...], name: str
               ) -> Migration:
        state = self.apps[index]
        dependencies = set(self.external_dependencies(index, operations))
        if state.migrations:
            dependencies.add(state.leaf())
        migration = Migration(state.label, f"{number:04d}_{name}", tuple(sorted(dependencies)),
                              operations, initial=number == 1)
        for operation in operations:
            apply(state, operation)
        state.migrations.append(migration)
        if self.squash_at.get(index) == number:
            self.squashed_states[index] = {n: m.copy() for n, m in state.models.items()}
        return migration

    def squash(self, index: int) -> Migration:
        """What squashmigrations writes for 0001..squash_at: the optimized state as operations.

        Foreign keys to a model of the app created later become a separate AddField, as the
        optimizer leaves them; cross-app and swappable dependencies are kept as they were.
        """
        state, models = self.apps[index], self.squashed_states[index]
        replaced = state.migrations[: self.squash_at[index]]
        order = list(models)
        creates, later, indexes = [], [], []
        for position, model in enumerate(models.values()):
            fields = []
            for f in model.fields.values():
                app, _, target = f.to.partition(".")
                if f.kind == "fk" and app == state.label and order.index(target) >= position:
                    later.append(Operation("AddField", model.name, (f,)))
                else:
                    fields.append(f)
            creates.append(Operation("CreateModel", model.name, tuple(fields)))
            indexes += [Operation("AddIndex", model.name, index=ix) for ix in model.indexes]
        dependencies = {d for m in replaced for d in m.dependencies if d[0] != state.label}
        return Migration(state.label, f"0001_squashed_{replaced[-1].name}",
                         tuple(sorted(dependencies)), (*creates, *later, *indexes), initial=True,
                         replaces=tuple((state.label, m.name) for m in replaced))

    def external_dependencies(self, index: int, operations: tuple[Operation, ...]
                              ) -> list[tuple[str, str]]:
        label = self.apps[index].label
        found = []
        for operation in operations:
            for f in operation.fields:
                if f.kind == "user":
                    found.append(SWAPPABLE)
                elif f.kind == "fk" and not f.to.startswith(label + "."):
                    other = next(a for a in self.apps if a.label == f.to.split(".")[0])
                    found.append(other.leaf())
        return found

    def initial_operations(self, index: int) -> tuple[Operation, ...]:
        state = self.apps[index]
        operations = []
        for position in range(self.rng.randint(1, 3)):
            fields = [self.new_field(state, self.rng.choice(FIELD_WORDS), initial=True)
                      for _ in range(self.rng.randint(1, 4))]
            name = self.model_name(state)
            if position == 0 and index > 0 and self.rng.random() < 0.5:
                fields.append(self.foreign_key(index, state, name, initial=True))
            if position == 0 and index in self.user_apps:
                fields.append(self.user_key(state, name))
            operations.append(Operation("CreateModel", name, tuple(fields)))
            # Reserve the name so that the next model gets another one.
            state.models[operations[-1].model] = ModelState(operations[-1].model)
        for operation in operations:
            del state.models[operation.model]
        return tuple(operations)

    def schema_operations(self, index: int, avoid: frozenset[str]) -> tuple[Operation, ...]:
        state = self.apps[index]
        operations: list[Operation] = []
        touched = set(avoid)
        for _ in range(self.rng.choice((1, 1, 1, 1, 1, 1, 2, 2, 2, 3))):
            kinds, weights = zip(*OPERATION_WEIGHTS, strict=True)
            kind = self.rng.choices(kinds, weights)[0]
            if kind == "user" and index not in self.user_apps:
                kind = "add"
            operation = self.schema_operation(index, state, kind, touched)
            if operation is None:
                operation = self.schema_operation(index, state, "model", touched)
            assert operation is not None
            touched.add(operation.model)
            operations.append(operation)
            if operation.kind == "CreateModel":
                state.models[operation.model] = ModelState(operation.model)
        for operation in operations:
            if operation.kind == "CreateModel":
                del state.models[operation.model]
        return tuple(operations)

    def schema_operation(self, index: int, state: AppState, kind: str, touched: set[str]
                         ) -> Operation | None:
        rng = self.rng
        if kind == "model":
            name = self.model_name(state)
            fields = [self.new_field(state, rng.choice(FIELD_WORDS), initial=True)
                      for _ in range(rng.randint(1, 3))]
            return Operation("CreateModel", name, tuple(fields))
        models = [m for m in state.models.values() if m.name not in touched]
        if not models:
            return None
        model = rng.choice(models)
        if kind == "add":
            return Operation("AddField", model.name,
                             (self.new_field(state, rng.choice(FIELD_WORDS), initial=False),))
        if kind == "fk":
            return Operation("AddField", model.name, (self.foreign_key(index, state, model.name),))
        if kind == "user":
            return Operation("AddField", model.name, (self.user_key(state, model.name),))
        indexed = {name for ix in model.indexes for name in ix.fields}
        if kind == "alter":
            fields = [f for f in model.fields.values() if f.kind in ("char", "int")]
            return Operation("AlterField", model.name, (altered(rng.choice(fields)),)) \
                if fields else None
        if kind == "remove":
            names = [n for n in model.fields if n not in indexed]
            return Operation("RemoveField", model.name, name=rng.choice(names)) if names else None
        names = [n for n, f in model.fields.items() if f.kind in ("char", "int", "date")
                 and n not in indexed]
        if not names:
            return None
        ix = Index(f"{state.label}_ix{state.next_number()}", (rng.choice(names),))
        return Operation("AddIndex", model.name, index=ix)

    def run_python_target(self, state: AppState, avoid: frozenset[str]
                          ) -> tuple[str, Field] | None:
        for model in state.models.values():
            for f in model.fields.values():
                if f.kind in RUN_PYTHON_VALUES and model.name not in avoid:
                    return (model.name, f)
        return None

    def run_python(self, state: AppState, avoid: frozenset[str]) -> tuple[Operation, ...]:
        target = self.run_python_target(state, avoid)
        assert target is not None
        return (Operation("RunPython", target[0], fields=(target[1],), name=target[1].name),)

    def model_name(self, state: AppState) -> str:
        word = self.rng.choice(MODEL_WORDS)
        name, suffix = word, 2
        while name in state.models:
            name, suffix = f"{word}{suffix}", suffix + 1
        return name

    def new_field(self, state: AppState, word_kind: tuple[str, str], initial: bool) -> Field:
        word, kind = word_kind
        name = f"{word}_{state.next_number()}"
        if kind == "char":
            # makemigrations asks for a default when a NOT NULL field is added: give one.
            return Field(name, kind, max_length=self.rng.choice((50, 100, 200)),
                         default=None if initial else "")
        if kind == "int":
            return Field(name, kind, default=0)
        return Field(name, kind)

    def foreign_key(self, index: int, state: AppState, model: str, initial: bool = False
                    ) -> Field:
        candidates = [(a.label, m) for a in self.apps[:index] for m in a.models]
        candidates += [(state.label, m) for m in state.models if m != model]
        app, target = self.rng.choice(candidates) if candidates else (state.label, model)
        name = f"{target.lower()}_{state.next_number()}"
        related = f"{state.label}_{model.lower()}_{name}"
        return Field(name, "fk", to=f"{app}.{target}", related_name=related, null=not initial)

    def user_key(self, state: AppState, model: str) -> Field:
        name = f"owner_{state.next_number()}"
        return Field(name, "user", null=True, related_name=f"{state.label}_{model.lower()}_{name}")


def altered(f: Field) -> Field:
    """The field after an AlterField: a longer CharField, or another IntegerField default."""
    if f.kind == "char":
        return Field(f.name, f.kind, max_length=f.max_length + 50, default=f.default)
    assert isinstance(f.default, int)
    return Field(f.name, f.kind, default=f.default + 1)
