"""Where an agent's honest trace comes from: the request's public input, re-executed here.

A watcher trusts nobody's trace: the request's input is in its ``OptimisticRequested`` event,
the model is found by the program root the registry holds for it, and the trace is this
machine's own executor run, cached per process (re-executing is cheap next to waiting for a
node, and a restart simply re-runs it).

Usage::

    traces = RequestTraces(escrow, registry, Programs.built())
    tr = traces.trace(request_id)            # P_n is tr.checkpoints[-1]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from contracts.clients import EscrowClient, RegistryClient
from contracts.records import OptimisticRequest, ProgramInfo
from disputes.errors import AgentError, BoundsError, ExecutionInputError
from disputes.game.encoding import inputs_from_bytes
from disputes.program.ir import Program
from disputes.tracing.trace import Trace, trace


class Programs:
    """The programs this machine can re-execute, found by their registered program root.

    Usage: ``Programs.built().get(registry.program_of(model_id).program_root)``
    """

    def __init__(self, loaders: Mapping[str, Callable[[], Program]]) -> None:
        self._loaders = dict(loaders)
        self._by_root: dict[bytes, tuple[str, Program]] = {}
        self._loaded: set[str] = set()

    @classmethod
    def of(cls, **programs: Program) -> Programs:
        """From programs already loaded: ``Programs.of(mlp=program)``."""
        return cls({name: _constant(p) for name, p in programs.items()})

    @classmethod
    def built(cls, names: Iterable[str] | None = None) -> Programs:
        """The models built in the data dir (or only `names`), each loaded when first needed."""
        from disputes.execution.executor import load_program
        from models.registry import Registry

        reg = Registry.default()
        chosen = list(names) if names is not None else [c.name for c in reg.built()]
        return cls({n: _loader(load_program, reg.onnx_path(n)) for n in chosen})

    def get(self, root: bytes) -> Program:
        """The program whose root is `root`; AgentError when no local model has it."""
        return self.find(root)[1]

    def find(self, root: bytes) -> tuple[str, Program]:
        """(model name, program) for `root`, loading models lazily until one matches."""
        for name, load in self._loaders.items():
            if root in self._by_root:
                break
            if name not in self._loaded:
                program = load()
                self._loaded.add(name)
                self._by_root[program.program_root] = (name, program)
        if root not in self._by_root:
            known = ", ".join(self._loaders) or "none"
            raise AgentError(
                f"no local model has program root 0x{root.hex()} (models here: {known}); build "
                "the claim's model with `verinfer models build NAME` or pass --model NAME"
            )
        return self._by_root[root]


def _constant(program: Program) -> Callable[[], Program]:
    return lambda: program


def _loader(load: Callable[[Path], Program], path: Path) -> Callable[[], Program]:
    return lambda: load(path)


class RequestTraces:
    """Honest traces of optimistic requests, re-executed from the request's event, cached.

    Usage: ``RequestTraces(escrow, registry, Programs.built()).trace(request_id)``
    """

    def __init__(self, escrow: EscrowClient, registry: RegistryClient, programs: Programs):
        self.escrow, self.registry, self.programs = escrow, registry, programs
        self._traces: dict[int, Trace] = {}

    def request(self, request_id: int) -> OptimisticRequest:
        """The request's ``OptimisticRequested`` event; AgentError when there is none."""
        req = self.escrow.optimistic_request(request_id)
        if req is None:
            raise AgentError(
                f"request {request_id} has no OptimisticRequested event: it does not exist or "
                "is not an optimistic request"
            )
        return req

    def program_info(self, request_id: int) -> ProgramInfo:
        return self.registry.program_of(self.request(request_id).model_id)

    def program(self, request_id: int) -> Program:
        return self.programs.get(self.program_info(request_id).program_root)

    def trace(self, request_id: int) -> Trace:
        if request_id not in self._traces:
            program = self.program(request_id)
            data = self.request(request_id).input
            try:
                self._traces[request_id] = trace(program, inputs_from_bytes(program, data))
            except (ExecutionInputError, BoundsError) as exc:
                # A hostile client can send an input the executor refuses; the watcher must
                # record that and move on, not retry the same block range forever.
                raise AgentError(
                    f"request {request_id} cannot be executed ({exc}); no honest trace exists, "
                    "so a claim on it cannot be disputed"
                ) from exc
        return self._traces[request_id]
