"""Choices and logic: ``if C then A else B``, ``and``, ``or``, ``not`` and comparisons.

Comparisons and logic give 1 where they hold and 0 elsewhere: constants, with no derivative.
A choice is differentiable through the side it takes. Its condition is evaluated first:

- a number (or an array that is all true, or all false) selects one side, and only that side
  is evaluated, so ``if x > 0 then log(x) else 0`` never computes log(0);
- an array with both outcomes evaluates each side only on the elements it takes, when the
  sides act element by element on arrays of the condition's shape, so no side meets the
  values that it was not chosen for (sqrt of the negative elements, say), neither for its
  value nor for its derivatives; then the two are put together element by element;
- otherwise (a side sums an array, say) both sides are evaluated whole and combined.

``and`` and ``or`` skip their right side in the same way when the left side, a number,
decides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

import dezero.functions as F
import dezero.piecewise as P
from dezero import Variable, as_variable
from dezero_repl import nodes
from dezero_repl.errors import CalcError, ErrorKind
from dezero_repl.values import Truth, data_of, is_function, require_array
from dezero_repl.vocabulary import check_broadcast, check_size

if TYPE_CHECKING:
    from dezero_repl.evaluator import Session

#: The states of a choice or and/or on the evaluation stack (see Session.evaluate): its
#: condition (left side) is ready; then the one side it chose is; or both sides are.
DECIDE, ONE, BOTH = 2, 3, 4


def truth(condition: Any) -> Variable:
    """1 where a condition holds, 0 elsewhere: a constant, with no derivative (a mask, as an
    index)."""
    return Truth(np.asarray(condition, dtype=np.float64))


def _comparison(test: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Variable]:
    return lambda x, y: truth(test(data_of(x), data_of(y)))


COMPARISONS = {
    "<": _comparison(np.less),
    "<=": _comparison(np.less_equal),
    ">": _comparison(np.greater),
    ">=": _comparison(np.greater_equal),
    "==": _comparison(np.equal),
    "!=": _comparison(np.not_equal),
}


def decide(
    session: Session, node: Any, state: int, values: list, stack: list, scope: dict, depth: int
) -> None:
    """Visit a choice or and/or again: ``values`` ends with what is ready, and what must
    still be evaluated is pushed on ``stack``, with the state to come back in."""
    if state == DECIDE:
        condition = values[-1]
        require_array(condition, "if" if type(node) is nodes.Choice else node.op)
        holds = np.asarray(data_of(condition) != 0)
        if type(node) is nodes.Logical:
            decided = (not holds.any()) if node.op == "and" else holds.all()
            if holds.ndim == 0 and decided:
                values[-1] = truth(holds)
            else:
                stack += ((node, BOTH), (node.right, 0))
        elif holds.all() or not holds.any():
            stack += ((node, ONE), (node.chosen if holds.all() else node.otherwise, 0))
        else:
            masked = _masked(session, node, holds, scope, depth)
            if masked is not None:
                values[-1] = masked
            else:
                values.append(len(session.floating.warnings))
                stack += ((node, BOTH), (node.otherwise, 0), (node.chosen, 0))
        return
    if type(node) is nodes.Logical:
        left, right = values[-2:]
        require_array(right, node.op, node.op_start, node.op_end)
        combine = np.logical_and if node.op == "and" else np.logical_or
        a, b = data_of(left), data_of(right)
        if np.shape(a) != np.shape(b):  # the truth values, then the numbers 1 and 0
            try:
                check_broadcast([np.shape(a), np.shape(b)], f"'{node.op}'", arrays=2)
            except CalcError as e:
                raise e.at(node.op_start, node.op_end) from None
        values[-2:] = [truth(combine(a != 0, b != 0))]
    elif state == ONE:
        condition, chosen = values[-2:]
        values[-2:] = [_shaped(node, condition, chosen)]
    else:
        condition, mark, chosen, otherwise = values[-4:]
        values[-4:] = [_whole(session, node, condition, mark, chosen, otherwise)]


def _shaped(node: nodes.Choice, condition: Any, value: Any) -> Any:
    """The side chosen everywhere, broadcast to the shape of the condition and itself."""
    require_array(value, "if", node.start, node.end)
    shape = _broadcast(node, condition, value)
    if shape == np.shape(data_of(value)):
        return value
    return F.broadcast_to(as_variable(value), shape)


def _broadcast(node: nodes.Choice, *values: Any) -> tuple[int, ...]:
    shapes = [np.shape(data_of(v)) for v in values]
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise CalcError(
            f"shapes {' and '.join(str(s) for s in shapes)} do not match for 'if'",
            node.start,
            node.end,
            kind=ErrorKind.ValueError,
        ) from None
    check_size(shape, "this choice")
    return shape


def _whole(
    session: Session, node: nodes.Choice, condition: Any, mark: int, a: Any, b: Any
) -> Variable:
    """where(condition, a, b) of sides evaluated whole: the complaints of elements not
    chosen are dropped, unless the result itself holds a nan or an infinity."""
    require_array(a, "if", node.start, node.end)
    require_array(b, "if", node.start, node.end)
    _broadcast(node, condition, a, b)
    result = P.where(data_of(condition) != 0, a, b)
    assert result.data is not None  # a result just computed holds its array
    if np.isfinite(result.data).all():
        del session.floating.warnings[mark:]
    return result


def _masked(
    session: Session, node: nodes.Choice, holds: np.ndarray, scope: dict, depth: int
) -> Variable | None:
    """Each side evaluated only on the elements it takes, or None where that cannot be done:
    a side reads an array of another shape, or does not act element by element."""
    arrays = {}
    for side in (node.chosen, node.otherwise):
        for name in {n.id for n in nodes.walk(side) if type(n) is nodes.Name}:
            value = session.value_of(name, scope)
            if value is None or is_function(value) or np.ndim(data_of(value)) == 0:
                continue
            if np.shape(data_of(value)) != holds.shape:
                return None
            arrays[name] = value
    from dezero_repl import ranges  # imported when first needed, as the evaluator does

    if not all(
        ranges.elementwise(session, side, set(arrays), scope)
        for side in (node.chosen, node.otherwise)
    ):
        return None
    parts = []
    for side, mask in ((node.chosen, holds), (node.otherwise, ~holds)):
        inner = {**scope, **{n: F.get_item(as_variable(v), mask) for n, v in arrays.items()}}
        value = session.evaluate(side, inner, depth)
        require_array(value, "if", node.start, node.end)
        value = as_variable(value)
        count = int(mask.sum())
        if value.shape != (count,):
            value = F.broadcast_to(value, (count,))
        parts.append(F.GetItemGrad(mask, holds.shape)(value))  # back in place, 0 elsewhere
    return P.where(holds, *parts)
