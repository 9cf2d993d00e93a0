"""The graph: ordering, backward semantics, grad modes, anomaly detection, deep and wide graphs."""

from __future__ import annotations

import contextlib
import gc
import math
import sys
import threading

import pytest

from engine import (
    BackwardWork,
    Value,
    backward,
    backward_steps,
    backward_work,
    detect_anomaly,
    enable_grad,
    is_anomaly_enabled,
    is_grad_enabled,
    is_tagging_scopes,
    no_grad,
    scope,
    scope_of,
    set_grad_enabled,
    tag_scopes,
    topo_order,
    zero_grad,
)


def assert_topological(order: list[Value]) -> None:
    position = {id(node): i for i, node in enumerate(order)}
    assert len(position) == len(order), "a node is listed twice"
    for node in order:
        for child in node._prev:
            assert position[id(child)] < position[id(node)], f"{child} comes after its user {node}"


# -- topological order ------------------------------------------------------------------------


def test_topo_order_lists_each_node_once_inputs_first_root_last() -> None:
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    c = a * b
    d = c + a
    e = d * c  # diamond: c feeds d and e
    order = topo_order(e)
    assert order[-1] is e
    assert {id(n) for n in order} == {id(n) for n in (a, b, c, d, e)}
    assert_topological(order)


def test_topo_order_when_a_shared_input_is_pushed_before_its_user() -> None:
    # root's first input b is also an input of its second input: b must still come before a2.
    b = Value(2.0, label="b")
    a2 = b * 2
    root = b + a2
    order = topo_order(root)
    assert_topological(order)
    assert order.index(b) < order.index(a2)


def test_backward_work_counts_ops_edges_and_nodes_without_running_backward() -> None:
    x = Value(3.0, label="x", requires_grad=False)  # a constant input: no edge into it
    w, b = Value(2.0, label="w"), Value(1.0, label="b")
    z = w * x + b
    y = z * z  # a + a style reuse: two edges into z, one op
    assert backward_work(y) == BackwardWork(ops=3, edges=5, nodes=6)
    assert (w.grad, b.grad) == (0.0, 0.0)  # nothing ran
    with no_grad():
        c = w * x  # not recorded: a constant leaf
    assert backward_work(c + b) == BackwardWork(ops=1, edges=1, nodes=3)
    assert backward_work(w) == BackwardWork(ops=0, edges=0, nodes=1)


def test_a_plus_a_keeps_both_edges() -> None:
    a = Value(3.0, label="a")
    s = a + a
    assert s._prev == (a, a)
    assert len(topo_order(s)) == 2
    s.backward()
    assert a.grad == 2.0


# -- gradients through shared nodes -------------------------------------------------------------


def test_x_times_x() -> None:
    x = Value(-1.5)
    (x * x).backward()
    assert x.grad == -3.0


def test_diamond_sums_both_paths() -> None:
    a = Value(0.7)
    b, c = a * 2.0, a.tanh()
    (b * c).backward()
    # d/da (2a · tanh a) = 2 tanh a + 2a (1 − tanh² a)
    t = math.tanh(0.7)
    assert a.grad == pytest.approx(2 * t + 2 * 0.7 * (1 - t * t), rel=1e-12)


def test_constants_on_either_side_give_the_same_gradient() -> None:
    for build in (lambda x: 3.0 * x - 1.0, lambda x: x * 3.0 + -1.0, lambda x: (1.0 - x) * -3.0):
        x = Value(2.0)
        build(x).backward()
        assert x.grad == 3.0


def test_constants_get_no_gradient() -> None:
    x = Value(2.0)
    y = x * 5.0
    const = y._prev[1]
    assert not const.requires_grad and const.data == 5.0
    y.backward()
    assert const.grad == 0.0


# -- a root that is not a Value ---------------------------------------------------------------------


class _Model:
    """Stands in for a model: it has parameters(), but is not a graph node."""

    def parameters(self) -> list[Value]:
        return [Value(1.0)]


GRAPH_FUNCTIONS = [
    pytest.param(topo_order, id="topo_order"),
    pytest.param(backward, id="backward"),
    pytest.param(backward_steps, id="backward_steps"),
    pytest.param(zero_grad, id="zero_grad"),
    pytest.param(backward_work, id="backward_work"),
]
# (id, the root, what the message must say besides "<function>: needs one Value")
NOT_A_NODE = [
    pytest.param(2.5, "got the plain number 2.5", id="float"),
    pytest.param([Value(1.0) * 2, Value(2.0) * 2], "got a list of 2: use one output at a time", id="list"),
    pytest.param((Value(1.0) * 2,), "or combine them into one loss", id="tuple"),
    pytest.param(_Model(), "got a _Model (a model): call it on an input", id="model"),
    pytest.param(None, "got None: did a function forget to return its result?", id="None"),
    pytest.param("loss", "got str 'loss'", id="str"),
]


@pytest.mark.parametrize(("root", "says"), NOT_A_NODE)
@pytest.mark.parametrize("function", GRAPH_FUNCTIONS)
def test_graph_functions_want_a_value_and_say_what_they_got(function, root, says) -> None:
    name = function.__name__
    with pytest.raises(TypeError, match=rf"^{name}: needs one Value \(the output of a computation\)") as err:
        function(root)
    assert says in str(err.value)


# -- backward semantics: leaves accumulate, interior nodes start afresh --------------------------


def test_double_backward_doubles_leaves_and_recomputes_interior() -> None:
    a, b = Value(2.0), Value(-3.0)
    c = a * b
    loss = c.tanh() + c
    loss.backward()
    first = (a.grad, b.grad, c.grad)
    loss.backward()
    assert (a.grad, b.grad) == (2 * first[0], 2 * first[1])  # leaves accumulate exactly
    assert c.grad == first[2]  # interior: this call's gradient only (micrograd gives 2x, then 3x)
    assert loss.grad == 1.0


def test_backward_seed_scales_every_gradient() -> None:
    a = Value(1.5)
    y = a * a * a
    y.backward(2.0)
    assert a.grad == pytest.approx(2.0 * 3 * 1.5**2)


def test_an_integer_or_numpy_seed_still_gives_float_gradients() -> None:
    np = pytest.importorskip("numpy")
    for seed in (2, np.float32(2.0), True):
        a = Value(1.5)
        y = a * 3
        y.backward(seed)  # type: ignore[arg-type]
        assert type(y.grad) is float and type(a.grad) is float
        assert a.grad == 3.0 * float(seed)


def test_backward_of_a_leaf_accumulates_like_pytorch() -> None:
    a = Value(4.0)
    a.backward()
    a.backward()
    assert a.grad == 2.0


@pytest.mark.parametrize("seed", [math.nan, math.inf, "1"])
def test_backward_rejects_a_bad_seed(seed: object) -> None:
    y = Value(1.0) * 2
    with pytest.raises(ValueError, match="seed gradient"):
        y.backward(seed)  # type: ignore[arg-type]


def test_zero_grad_clears_the_whole_graph() -> None:
    a, b = Value(1.0), Value(2.0)
    y = (a * b + a).relu()
    y.backward()
    assert a.grad != 0.0
    y.zero_grad()
    assert all(n.grad == 0.0 for n in topo_order(y))
    y.backward()
    zero_grad(y)  # the function form does the same
    assert all(n.grad == 0.0 for n in topo_order(y))


# -- no_grad and requires_grad -------------------------------------------------------------------


def test_no_grad_records_nothing() -> None:
    a = Value(2.0)
    with no_grad():
        assert not is_grad_enabled()
        y = (a * a).exp() + 1
    assert is_grad_enabled()
    assert y._prev == () and y._backward is None and y._op == "" and not y.requires_grad
    assert y.data == pytest.approx(math.exp(4.0) + 1)
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_enable_grad_inside_no_grad_and_nesting_restores() -> None:
    a = Value(2.0)
    with no_grad():
        with enable_grad():
            y = a * 3
        z = a * 3
        with set_grad_enabled(True):
            w = a * 3
    assert y._prev == (a, y._prev[1]) and z._prev == () and w.requires_grad


def test_no_grad_restores_the_mode_after_an_exception() -> None:
    with pytest.raises(ValueError), no_grad():
        Value(-1.0).log()
    assert is_grad_enabled()


def test_no_grad_as_a_decorator() -> None:
    @no_grad()
    def predict(x: Value) -> Value:
        return x * 2

    assert predict(Value(1.0))._prev == ()
    assert is_grad_enabled()


def test_no_grad_is_per_thread() -> None:
    seen: list[bool] = []
    with no_grad():
        worker = threading.Thread(target=lambda: seen.append((Value(1.0) * 2).requires_grad))
        worker.start()
        worker.join()
    assert seen == [True]


@pytest.fixture
def recording_restored():
    """Whatever a test switches, the next one starts with recording on."""
    yield
    set_grad_enabled(True)


def test_set_grad_enabled_called_plainly_switches_from_then_on(recording_restored) -> None:
    set_grad_enabled(False)  # as torch.set_grad_enabled(False): no `with` needed
    assert not is_grad_enabled() and not (Value(1.0) * 2).requires_grad
    set_grad_enabled(True)
    assert is_grad_enabled() and (Value(1.0) * 2).requires_grad


# (id, a fresh switch, the mode inside it)
SWITCHES = [
    pytest.param(no_grad, False, id="no_grad"),
    pytest.param(enable_grad, True, id="enable_grad"),
    pytest.param(lambda: set_grad_enabled(False), False, id="set_grad_enabled(False)"),
    pytest.param(lambda: set_grad_enabled(True), True, id="set_grad_enabled(True)"),
]


@pytest.mark.parametrize("start", [True, False])
@pytest.mark.parametrize(("switch", "inside"), SWITCHES)
def test_grad_mode_switch_in_a_with_block(switch, inside, start, recording_restored) -> None:
    set_grad_enabled(start)
    with switch():
        assert is_grad_enabled() == inside == (Value(1.0) * 2).requires_grad
    assert is_grad_enabled() == start


@pytest.mark.parametrize("start", [True, False])
@pytest.mark.parametrize(("switch", "inside"), SWITCHES)
def test_grad_mode_switch_as_a_decorator(switch, inside, start, recording_restored) -> None:
    set_grad_enabled(start)
    probe = switch()(is_grad_enabled)
    assert is_grad_enabled() == start  # decorating switches nothing
    assert probe() == inside
    assert is_grad_enabled() == start
    set_grad_enabled(not start)
    assert probe() == inside  # each call switches, and restores the mode of its caller
    assert is_grad_enabled() == (not start)


def test_set_grad_enabled_is_per_thread(recording_restored) -> None:
    seen: list[bool] = []

    def worker() -> None:
        set_grad_enabled(False)
        seen.append((Value(1.0) * 2).requires_grad)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [False] and is_grad_enabled()


@pytest.mark.parametrize("flag", [1, None, "no"])
def test_set_grad_enabled_wants_a_bool(flag: object) -> None:
    with pytest.raises(
        TypeError, match=rf"set_grad_enabled: enabled must be True or False, got \w+ {flag!r}"
    ):
        set_grad_enabled(flag)  # type: ignore[arg-type]
    assert is_grad_enabled()


def test_ops_on_values_without_requires_grad_are_not_recorded() -> None:
    w = Value(0.5, requires_grad=False)
    x = Value(2.0, requires_grad=False)
    y = (w * x + 1).tanh()
    assert not y.requires_grad and y._prev == ()
    assert topo_order(y) == [y]  # backward would have nothing to visit


def test_frozen_input_gets_no_gradient_but_passes_it_on() -> None:
    w = Value(0.5, requires_grad=False)  # a frozen parameter
    x = Value(2.0)
    y = w * x
    assert y.requires_grad
    y.backward()
    assert w.grad == 0.0 and x.grad == 0.5


# -- detect_anomaly ------------------------------------------------------------------------------


def test_anomaly_in_forward_names_op_and_inputs() -> None:
    a = Value(math.inf, label="a")
    with detect_anomaly(), pytest.raises(FloatingPointError, match=r"forward of '\*' gave nan") as err:
        a * 0.0
    assert "inf (label 'a'), 0.0" in str(err.value)
    assert not is_anomaly_enabled()


def test_overflow_to_inf_is_caught_only_under_detect_anomaly() -> None:
    big = Value(1e200)
    assert (big * big).data == math.inf  # IEEE arithmetic, as in PyTorch
    with detect_anomaly(), pytest.raises(FloatingPointError, match=r"'\*' gave inf"):
        big * big


def test_anomaly_in_backward_names_op() -> None:
    x = Value(0.0, label="x")
    y = x.sqrt()  # forward fine, slope at 0 is infinite
    y.backward()
    assert x.grad == math.inf
    x.grad = 0.0
    with detect_anomaly(), pytest.raises(FloatingPointError, match=r"backward of 'sqrt'") as err:
        y.backward()
    assert "0.0 (label 'x')" in str(err.value)


# -- a pass that fails part-way changes no leaf ---------------------------------------------------


def _raising(error: BaseException):
    """x ↦ x · 1 whose backward rule raises `error`: a bug in a rule, or Ctrl-C arriving there."""

    def op(x: Value) -> Value:
        def rule(node: Value, g: float = 1.0) -> tuple[float, float]:
            raise error

        out = x * 1.0
        out._backward = rule
        return out

    return op


# (id, an op on w whose backward fails, the context that makes it fail, the exception)
FAILURES = [
    pytest.param(Value.sqrt, detect_anomaly, FloatingPointError, id="detect_anomaly"),  # slope inf at 0
    pytest.param(_raising(KeyboardInterrupt()), contextlib.nullcontext, KeyboardInterrupt, id="Ctrl-C"),
    pytest.param(_raising(ZeroDivisionError("bug")), contextlib.nullcontext, ZeroDivisionError, id="rule"),
]
PASSES = [
    pytest.param(backward, id="backward"),
    pytest.param(lambda root: list(backward_steps(root)), id="backward_steps"),
]


@pytest.mark.parametrize("run", PASSES)
@pytest.mark.parametrize(("failing", "context", "error"), FAILURES)
def test_a_failed_pass_leaves_every_leaf_as_it_was(failing, context, error, run) -> None:
    w, b, c = Value(0.0, label="w"), Value(1.0, label="b"), Value(2.0, label="c")
    loss = (w * 2.0 + b * c) + failing(w)  # w * 2 and b * c run first and add to w, b and c
    w.grad, b.grad = 3.0, -0.5  # from an earlier backward; c holds nothing
    with pytest.raises(error), context():
        run(loss)
    assert (w.grad, b.grad, c.grad) == (3.0, -0.5, 0.0)


def test_after_a_failed_pass_the_next_one_accumulates_as_usual() -> None:
    w = Value(0.0, label="w")
    loss = w * 2.0 + w.sqrt()
    w.grad = 3.0
    with pytest.raises(FloatingPointError), detect_anomaly():
        loss.backward()
    (w * 2.0).backward()
    assert w.grad == 5.0


# -- scopes: tags for drawing ---------------------------------------------------------------------


def test_scopes_tag_the_values_made_inside_them_with_a_path() -> None:
    w = Value(2.0, label="w")
    with tag_scopes():
        with scope("layer 1"):
            with scope("neuron 3"):
                z = w * 3.0 + 1.0  # the lifted constants are made inside too
            h = z.tanh()
        out = h + 1.0
    assert scope_of(w) == () and scope_of(out) == ()
    assert scope_of(h) == ("layer 1",)
    assert {scope_of(n) for n in topo_order(z) if n is not w} == {("layer 1", "neuron 3")}


def test_scopes_tag_nothing_unless_tagging_is_on() -> None:
    assert not is_tagging_scopes()
    with tag_scopes():
        assert is_tagging_scopes()
        with tag_scopes(False):
            assert not is_tagging_scopes()
    assert not is_tagging_scopes()
    with scope("neuron 0"):
        y = Value(1.0) * 2.0
    assert scope_of(y) == ()


def test_tag_scopes_can_be_switched_off_inside_and_restores_after_an_exception() -> None:
    with tag_scopes(), scope("outer"):
        with tag_scopes(False), scope("inner"):
            assert scope_of(Value(1.0) + 1.0) == ()
        assert scope_of(Value(1.0) + 1.0) == ("outer",)
    with pytest.raises(KeyError), tag_scopes(), scope("a"):
        raise KeyError("boom")
    assert scope_of(Value(1.0) + 1.0) == ()


def test_scope_names_must_be_text() -> None:
    with (
        tag_scopes(),
        pytest.raises(TypeError, match="scope: the name must be a non-empty str, got 3"),
        scope(3),  # type: ignore[arg-type]
    ):
        pass


def test_scopes_and_detect_anomaly_together() -> None:
    with tag_scopes(), scope("n"), detect_anomaly():
        y = Value(1.0) * 2.0
        with pytest.raises(FloatingPointError):
            Value(math.inf) * 0.0
    assert scope_of(y) == ("n",)


# -- deep and wide graphs, memory behaviour ------------------------------------------------------


@pytest.mark.slow  # a million-node graph
def test_million_op_chain_backpropagates_without_recursion() -> None:
    limit = sys.getrecursionlimit()
    x = Value(1.0)
    y = x
    for _ in range(1_000_000):
        y = y + x
    y.backward()
    assert x.grad == 1_000_001.0
    assert sys.getrecursionlimit() == limit
    del y  # freeing a million-deep chain must not overflow the C stack either


def test_sum_of_100k_values() -> None:
    xs = [Value(float(i)) for i in range(100_000)]
    total = sum(xs)
    assert isinstance(total, Value)
    total.backward()
    assert total.data == sum(range(100_000))
    assert all(x.grad == 1.0 for x in xs)


def test_dropping_a_loss_frees_its_graph_without_the_cyclic_collector() -> None:
    params = [Value(0.1 * i) for i in range(20)]
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        loss = sum(((p * x).tanh() - 1.0) ** 2 for p in params for x in (0.5, -1.0, 2.0))
        assert isinstance(loss, Value)
        loss.backward()
        del loss
        assert gc.collect() == 0, "the graph holds reference cycles"
    finally:
        if was_enabled:
            gc.enable()


def test_the_library_leaves_interpreter_settings_alone() -> None:
    threshold, limit = gc.get_threshold(), sys.getrecursionlimit()
    y = sum(Value(float(i)) * i for i in range(1000))
    assert isinstance(y, Value)
    y.backward()
    assert gc.isenabled() and gc.get_threshold() == threshold and sys.getrecursionlimit() == limit


def test_numpy_object_arrays_of_values_backpropagate() -> None:
    np = pytest.importorskip("numpy")
    w = np.array([Value(1.0), Value(-2.0)])
    x = np.array([3.0, 4.0])
    scale = Value(0.5)
    y = np.dot(w * scale, x)  # elementwise through Value's operators, then a sum of products
    assert isinstance(y, Value)
    y.backward()
    assert [wi.grad for wi in w] == [1.5, 2.0]
    assert scale.grad == 1.0 * 3.0 + -2.0 * 4.0


def test_backward_function_form_equals_the_method() -> None:
    a, b = Value(0.3), Value(-1.1)
    y = (a * b).sigmoid() + a
    backward(y)
    by_function = (a.grad, b.grad)
    a.grad = b.grad = 0.0
    y.backward()
    assert (a.grad, b.grad) == by_function != (0.0, 0.0)


# -- backward_steps: backward one op at a time, for diagrams ------------------------------------


def _quickstart() -> tuple[Value, list[Value]]:
    a, b, c, f = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c"), Value(-2.0, label="f")
    return (a * b + c) * f, [a, b, c, f]


def _twice() -> tuple[Value, list[Value]]:
    a = Value(3.0, label="a")
    return a + a, [a]


def _square_and_constants() -> tuple[Value, list[Value]]:
    x = Value(0.7, label="x")
    return (x * x * 2.0 + 1.0).tanh() / (x + 3.0), [x]


def _neuron() -> tuple[Value, list[Value]]:
    xs = [Value(2.0, requires_grad=False), Value(0.0, requires_grad=False)]
    ws = [Value(-3.0), Value(1.0)]
    b = Value(6.8813735870195432)
    return (xs[0] * ws[0] + xs[1] * ws[1] + b).tanh(), [*ws, b]


def _grads_after(build, passes: list[str]) -> list[float]:
    """Every node's grad after running the passes ("backward" or "steps") on a fresh graph."""
    root, _ = build()
    for kind in passes:
        if kind == "backward":
            root.backward()
        else:
            assert len(list(backward_steps(root))) == sum(1 for n in topo_order(root) if n._prev)
    return [n.grad for n in topo_order(root)]


@pytest.mark.parametrize("build", [_quickstart, _twice, _square_and_constants, _neuron])
def test_backward_steps_leave_exactly_the_gradients_backward_leaves(build) -> None:
    assert _grads_after(build, ["steps"]) == _grads_after(build, ["backward"])
    # Interior grads restart and leaves accumulate, to the last bit, as with backward().
    assert _grads_after(build, ["backward", "steps"]) == _grads_after(build, ["backward", "backward"])
    assert _grads_after(build, ["steps", "steps"]) != _grads_after(build, ["steps"])


def test_backward_steps_say_which_op_runs_and_what_it_adds() -> None:
    a = Value(3.0, label="a")
    y = a + a
    (step,) = backward_steps(y)
    assert step.node is y and step.upstream == 1.0
    assert step.edges == ((a, 1.0, 1.0), (a, 1.0, 1.0))  # `a + a`: two edges, each adds once
    x = Value(2.0, label="x")
    z = (x * 3.0).tanh()
    steps = list(backward_steps(z, 2.0))
    assert [s.node._op for s in steps] == ["tanh", "*"]
    t = math.tanh(6.0)
    slope = (1 - t) * (1 + t)  # 1 − tanh², as PyTorch computes it
    assert steps[0].upstream == 2.0 and steps[0].edges[0][1:] == (slope, 2.0 * slope)
    assert len(steps[1].edges) == 1  # the constant 3.0 takes no gradient
    assert steps[1].edges[0][0] is x and x.grad == steps[1].edges[0][2]


def test_backward_steps_checks_its_arguments_before_the_first_step() -> None:
    with no_grad():
        frozen = Value(1.0) * 2.0
    with pytest.raises(RuntimeError, match=r"backward_steps: .* does not require grad"):
        backward_steps(frozen)
    with pytest.raises(ValueError, match="seed gradient must be a finite"):
        backward_steps(Value(1.0) * 2.0, math.nan)


@pytest.mark.parametrize("taken", [1, 2])
def test_backward_steps_stopped_early_keeps_what_leaves_held(taken: int) -> None:
    a = Value(2.0)
    y = (a * 3.0) * a + 1.0
    y.backward()
    assert a.grad == 12.0
    steps = backward_steps(y)
    for _ in range(taken):
        next(steps)  # + adds nothing to a, then the outer * adds 6: a pass half done, not to keep
    steps.close()
    assert a.grad == 12.0
