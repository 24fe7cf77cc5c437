// An Amazon States Language definition as a graph: each state of a machine is a node; Next, Default, Choices and
// Catch give the edges. Map (ItemProcessor / Iterator) and Parallel (Branches) states carry their inner machines as
// `processors`, drawn as nested boxes.

export function parseAsl(definition) {
  return parseMachine(definition);
}

function parseMachine(machine) {
  const states = machine.States || {};
  const names = orderedNames(machine);
  const nodes = names.map((name) => {
    const state = states[name];
    const inner = state.ItemProcessor || state.Iterator;
    const processors = [...(inner ? [inner] : []), ...(state.Branches || [])].map(parseMachine);
    return {
      id: name, type: state.Type, comment: state.Comment || "", subtitle: subtitle(state),
      terminal: Boolean(state.End) || state.Type === "Succeed" || state.Type === "Fail", processors,
    };
  });
  const edges = [];
  for (const name of names) {
    const state = states[name];
    if (state.Next) edges.push({ from: name, to: state.Next, kind: "next", label: "" });
    for (const choice of state.Choices || []) {
      edges.push({ from: name, to: choice.Next, kind: "choice", label: choiceLabel(choice) });
    }
    if (state.Default) edges.push({ from: name, to: state.Default, kind: "default", label: "otherwise" });
    for (const handler of state.Catch || []) {
      edges.push({ from: name, to: handler.Next, kind: "catch", label: catchLabel(handler.ErrorEquals || []) });
    }
  }
  return { startAt: machine.StartAt, nodes, edges: edges.filter((e) => e.to in states && e.from !== e.to) };
}

/** StartAt first, then the order a walk along the transitions meets the states, then the rest. */
function orderedNames(machine) {
  const states = machine.States || {};
  const seen = new Set();
  const walk = (name) => {
    if (!(name in states) || seen.has(name)) return;
    seen.add(name);
    const state = states[name];
    const next = [state.Next, ...(state.Choices || []).map((c) => c.Next), state.Default,
      ...(state.Catch || []).map((c) => c.Next)];
    next.filter(Boolean).forEach(walk);
  };
  walk(machine.StartAt);
  Object.keys(states).forEach(walk);
  return [...seen];
}

function subtitle(state) {
  switch (state.Type) {
    case "Task": {
      const resource = String(state.Resource || "");
      if (resource.endsWith(".waitForTaskToken")) return "Task · waits for a callback";
      if (resource.includes(":lambda:")) return "Task · Lambda";
      return "Task";
    }
    case "Map":
      return state.MaxConcurrency === 1 ? "Map · one item at a time" : "Map · items in parallel";
    case "Choice":
      return "Choice";
    case "Succeed":
      return "Succeed";
    case "Fail":
      return state.Error ? `Fail · ${state.Error}` : "Fail";
    default:
      return state.Type;
  }
}

const COMPARISONS = {
  Equals: "=", LessThan: "<", GreaterThan: ">", LessThanEquals: "≤", GreaterThanEquals: "≥", Matches: "~",
};

/** A short text for a Choice rule: `plan.blocked`, `mode = rollback`, `count > 3`; else "condition". */
export function choiceLabel(rule) {
  const variable = String(rule.Variable || "").replace(/^\$\.?/, "");
  const short = variable.split(".").pop();
  for (const [key, value] of Object.entries(rule)) {
    if (key === "BooleanEquals") return value ? short : `not ${short}`;
    if (key === "IsPresent") return value ? `${short} present` : `no ${short}`;
    const match = /^(String|Numeric|Timestamp)(Equals|LessThan|GreaterThan|LessThanEquals|GreaterThanEquals|Matches)$/
      .exec(key);
    if (match) return `${short} ${COMPARISONS[match[2]]} ${value}`;
  }
  if (rule.Condition) return String(rule.Condition).slice(0, 30);
  return "condition";
}

export function catchLabel(errors) {
  const name = (error) => (error === "States.ALL" ? "any error"
    : error === "States.Timeout" ? "timeout" : error.replace(/^States\./, ""));
  return errors.map(name).join(", ");
}
