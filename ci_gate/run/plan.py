"""What a run calls: each case's samples in the suite's order, numbered, made when needed.

A 50,000-case run does not hold a rendered request per item: an item is made from its case when
a worker takes it, or when a stopped run's results file names it as not run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from ci_gate.providers.base import ProviderRequest
from ci_gate.suite.model import Case, Message, Suite, Target
from ci_gate.suite.template import render_messages


@dataclass(frozen=True)
class Item:
    index: int
    case: Case
    request: ProviderRequest


@dataclass(frozen=True)
class Plan:
    suite: Suite
    cases: Sequence[Case]
    target: Target
    repeats: int

    def __len__(self) -> int:
        return len(self.cases) * self.repeats

    def __iter__(self) -> Iterator[Item]:
        index = 0
        for case in self.cases:
            messages = render_messages(self.suite, case)  # once for all of the case's samples
            for sample in range(self.repeats):
                yield Item(index, case, self._request(case, sample, messages))
                index += 1

    def item(self, index: int) -> Item:
        case = self.cases[index // self.repeats]
        sample = index % self.repeats
        return Item(index, case, self._request(case, sample, render_messages(self.suite, case)))

    def _request(self, case: Case, sample: int, messages: tuple[Message, ...]) -> ProviderRequest:
        return ProviderRequest(case.id, sample, case.vars, messages, self.target.params)
