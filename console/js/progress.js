// Where a deployment stands in the lifecycle state machine (statemachines/deployment_lifecycle.asl.json).
//
// The API exposes no execution history, so the colour of each state is derived from the deployment's audit
// events (GET /deployments/{id}/events, oldest first), replayed in order. Only the latest execution counts: a
// re-plan (replan_requested) starts a new one, and so does a requested rollback (rollback_started from completed
// or failed), which runs the machine in rollback mode (ChooseMode -> StartRollback).
//
//   event (from_status)             states it settles                              and the state now running
//   ------------------------------  ---------------------------------------------  ------------------------------
//   created, replan_requested       ChooseMode done                                 (PlanDeployment, once planning)
//   planning_started                                                                PlanDeployment
//   plan_generated                  PlanDeployment, RouteAfterPlan done             (BeginExecution or approval)
//   no_changes                      NothingToChange done (the plan task completes the deployment itself)
//   approval_requested                                                              WaitForApproval: waiting
//   approved                        WaitForApproval done (skipped if auto-approve)  BeginExecution
//   rejected                        WaitForApproval done; DeploymentRejected failed
//   cancelled (reason "approval     WaitForApproval failed (timed out); ExpireApproval done; ApprovalExpired failed
//     expired")
//   cancelled (otherwise)           the running state (WaitForApproval: done) -> DeploymentCancelled failed
//   execution_started               BeginExecution, FrozenUntil, the route's first  ExecuteWaves (first segment)
//                                   Pass state done
//   step_succeeded, step_failed,    (a step of an ApplyBatch; a failed attempt may be retried) the step's
//     traffic_switched              segment: green, switch and retire steps by their action, any other the
//                                   segment ExecuteWaves runs, or the next one once past a phase's verification
//   phase_verified (phase)          up to VerifyPhase done; after green, on through  (green) ExecuteWaves (switch)
//                                   BakeOrGoOn, SwitchTraffic done
//   bake_started                    BakeOrGoOn done                                 Bake
//   verification_started            the rest of the route done                      VerifyDeployment
//   verified                        VerifyDeployment done                           MarkCompleted
//   completed                       MarkCompleted done; DeploymentCompleted done    (after no_changes: nothing)
//   failed (planning, policy)       PlanDeployment, RouteAfterPlan done; PlanBlockedByPolicy failed
//   failed (planning, other)        PlanDeployment failed; MarkFailed done; DeploymentFailed failed
//   failed (executing | verifying)  the route's running state (a bake: WatchBake) | VerifyDeployment failed;
//                                   ShouldRollBack, MarkFailed done; DeploymentFailed failed
//   failed (rolling_back)           the rollback state running failed; MarkRollbackFailed done; RollbackFailed failed
//   rollback_started (executing |   the route's running state | VerifyDeployment failed (or cancelled while
//     verifying)                    running); ShouldRollBack, StartRollback done    RollBackAppliedSteps
//   rollback_started (completed |   a new execution: ChooseMode, StartRollback done    RollBackAppliedSteps
//     failed: requested)
//   rolled_back                     StartRollback, RollBackAppliedSteps, MarkRolledBack, RolledBackOnRequest and
//                                   RollbackCompleted (requested) or DeploymentRolledBack (after a failure):
//                                   rolled back
//
// Between BeginExecution and VerifyDeployment the machine follows its route (ROUTES), chosen by the plan's phases
// as FrozenUntil chooses by $.plan.route: a "canary" phase -> canary, a "switch" phase -> blue_green, else rollout.
// ExecuteWaves runs once per segment, each time after the Pass state naming the segment, so the path records every
// entry: consecutive states of the path are always an edge of the ASL. Events only move forward along the route,
// marking what they skip done; while the deployment executes, its `phase` (a segment's phase, or "bake") moves the
// running state on too, as the events of a phase may not be written yet (a segment of no-ops writes none).
//
// A Map state's inner states (ApplyStage/ApplyBatch, RollBackStage/UndoBatch) show their Map's colour. Every state
// the replay does not reach is "not reached".

export const DONE = "done";
export const RUNNING = "running";
export const WAITING = "waiting";
export const FAILED = "failed";
export const ROLLED_BACK = "rolled-back";
export const NOT_REACHED = "not-reached";

export const LEGEND = [
  [DONE, "Done"],
  [RUNNING, "Running"],
  [WAITING, "Waiting for approval"],
  [FAILED, "Failed"],
  [ROLLED_BACK, "Rolled back"],
  [NOT_REACHED, "Not reached"],
];

const ROLLBACK_CHAIN = ["StartRollback", "RollBackAppliedSteps", "MarkRolledBack", "RolledBackOnRequest"];
const INNER = { ExecuteWaves: ["ApplyStage", "ApplyBatch"], RollBackAppliedSteps: ["RollBackStage", "UndoBatch"] };

// Each route from FrozenUntil to VerifyDeployment, as the ASL walks it ("State:segment" where a state runs once per
// segment). A bake loops Bake -> WatchBake -> BakeOrGoOn until it is over: drawn as one round.
const BAKE = ["BakeOrGoOn", "Bake", "WatchBake", "BakeOrGoOn"];
export const ROUTES = {
  rollout: ["Rollout", "ExecuteWaves:rest", "AfterPhase"],
  canary: ["CanaryPhase", "ExecuteWaves:canary", "AfterPhase", "VerifyPhase:canary", ...BAKE,
    "RestPhase", "ExecuteWaves:rest", "AfterPhase"],
  blue_green: ["GreenPhase", "ExecuteWaves:green", "AfterPhase", "VerifyPhase:green", "BakeOrGoOn",
    "SwitchTraffic", "ExecuteWaves:switch", "AfterPhase", "VerifyPhase:switch", ...BAKE,
    "RestPhase", "ExecuteWaves:rest", "AfterPhase", "RetireBlue", "ExecuteWaves:retire", "AfterPhase"],
};
// A plan phase's kind -> the segment that runs it (planning/plan.py SEGMENT_OF).
const SEGMENT_OF = { batch: "rest", rest: "rest", destroy: "rest", create: "rest", canary: "canary", green: "green",
  switch: "switch", retire: "retire" };
// Steps whose action names their segment; any other runs in whichever segment is running.
const SEGMENT_ACTIONS = new Set(["green", "switch", "retire"]);
const stateOf = (label) => label.split(":")[0];

/** The route FrozenUntil takes for this deployment's plan. */
export function routeOf(deployment) {
  const kinds = new Set((((deployment || {}).plan || {}).phases || []).map((phase) => phase.kind));
  return kinds.has("canary") ? "canary" : kinds.has("switch") ? "blue_green" : "rollout";
}

class Replay {
  constructor(route = "rollout") {
    this.path = []; // states in the order the execution entered them; a state entered again is there again
    this.states = {}; // state -> status
    this.route = ROUTES[route];
    this.at = -1; // how far along the route the execution is (an index of this.route)
    this.bake = null; // the latest bake_started detail
  }

  /** Sets a state's status; a state not entered yet is entered. */
  set(state, status) {
    if (!(state in this.states)) this.path.push(state);
    this.states[state] = status;
    return this;
  }

  /** Enters a state, again if it ran before. */
  enter(state, status) {
    if (this.path[this.path.length - 1] !== state) this.path.push(state);
    this.states[state] = status;
    return this;
  }

  /** The state that is running or waiting, if any (the last one entered). */
  get current() {
    return [...this.path].reverse().find((s) => [RUNNING, WAITING].includes(this.states[s]));
  }

  /** Whatever still runs is done: used when an event shows the execution moved past it. */
  settle(status = DONE) {
    for (const state of this.path) if ([RUNNING, WAITING].includes(this.states[state])) this.states[state] = status;
    return this;
  }

  /** The index of the route's first `label` (a state, or "State:segment") after where the execution is; -1 if none. */
  next(label, from = this.at + 1) {
    return this.route.findIndex((l, at) => at >= from && (l === label || stateOf(l) === label));
  }

  /** Moves along the route to `index`: what lies between is done, the state there gets `status`. Never back. */
  advance(index, status) {
    if (index < 0 || index <= this.at) return this;
    this.settle();
    for (let i = this.at + 1; i <= index; i++) this.enter(stateOf(this.route[i]), i === index ? status : DONE);
    this.at = index;
    return this;
  }

  /** The route's next ExecuteWaves unless one runs now: the segment a step without a segment of its own is in. */
  runningSegment() {
    const here = this.route[this.at] || "";
    const running = stateOf(here) === "ExecuteWaves" && this.states.ExecuteWaves === RUNNING;
    return running ? this.at : this.next("ExecuteWaves");
  }

  /** Marks the state that failed during the route (a bake fails in its WatchBake; a Wait has no Catch). */
  failOnRoute() {
    const current = this.current;
    if (current === "Bake") return this.set("Bake", DONE).enter("WatchBake", FAILED);
    return this.set(current && this.route.some((l) => stateOf(l) === current) ? current : "ExecuteWaves", FAILED);
  }
}

function onStep(run, event) {
  const action = (event.detail || {}).action;
  const segment = SEGMENT_ACTIONS.has(action) ? run.next(`ExecuteWaves:${action}`, 0) : -1;
  run.advance(segment >= 0 ? segment : run.runningSegment(), RUNNING);
}

function isPolicyBlock(event) {
  const detail = event.detail || {};
  return Boolean(detail.plan_id) || String(detail.error || "").startsWith("blocked by policy");
}

/** The events of the latest execution, and its mode ("deploy" or "rollback"). */
export function latestExecution(events) {
  let start = 0;
  let mode = "deploy";
  events.forEach((event, i) => {
    if (event.type === "replan_requested") {
      start = i;
      mode = "deploy";
    } else if (event.type === "rollback_started" && ["completed", "failed"].includes(event.from_status)) {
      start = i;
      mode = "rollback";
    }
  });
  return { mode, events: events.slice(start) };
}

const HANDLERS = {
  created: (run) => run.set("ChooseMode", DONE),
  replan_requested: (run) => run.set("ChooseMode", DONE),
  planning_started: (run) => run.set("ChooseMode", DONE).set("PlanDeployment", RUNNING),
  plan_generated: (run) => run.set("PlanDeployment", DONE).set("RouteAfterPlan", DONE),
  approval_requested: (run) => run.settle().set("WaitForApproval", WAITING),
  approved: (run) => {
    run.settle();
    if ("WaitForApproval" in run.states) run.set("WaitForApproval", DONE);
    run.set("BeginExecution", RUNNING);
  },
  rejected: (run) => run.settle().set("WaitForApproval", DONE).set("DeploymentRejected", FAILED),
  cancelled: (run, event) => {
    if ((event.detail || {}).reason === "approval expired") {
      run.settle().set("WaitForApproval", FAILED).set("ExpireApproval", DONE).set("ApprovalExpired", FAILED);
      return;
    }
    const current = run.current;
    if (current) run.set(current, current === "WaitForApproval" ? DONE : FAILED);
    run.set("DeploymentCancelled", FAILED);
  },
  no_changes: (run) => run.set("PlanDeployment", DONE).set("RouteAfterPlan", DONE).set("NothingToChange", DONE),
  execution_started: (run) => {
    run.settle().set("BeginExecution", DONE).set("FrozenUntil", DONE);
    run.advance(run.next("ExecuteWaves"), RUNNING);
  },
  step_succeeded: onStep,
  step_failed: onStep,
  traffic_switched: onStep,
  phase_verified: (run, event) => {
    const phase = (event.detail || {}).phase;
    run.advance(run.next(`VerifyPhase:${phase}`), DONE);
    if (phase === "green") run.advance(run.next("ExecuteWaves:switch"), RUNNING); // BakeOrGoOn -> SwitchTraffic
  },
  bake_started: (run, event) => {
    run.bake = event.detail || {};
    run.advance(run.next("Bake"), RUNNING);
  },
  verification_started: (run) => {
    run.advance(run.route.length - 1, DONE);
    run.settle().set("VerifyDeployment", RUNNING);
  },
  verified: (run) => run.settle().set("VerifyDeployment", DONE).set("MarkCompleted", RUNNING),
  completed: (run) => {
    run.settle();
    if (!("NothingToChange" in run.states)) run.set("MarkCompleted", DONE).set("DeploymentCompleted", DONE);
  },
  failed: (run, event) => {
    const from = event.from_status;
    if (from === "planning" && isPolicyBlock(event)) {
      run.set("PlanDeployment", DONE).set("RouteAfterPlan", DONE).set("PlanBlockedByPolicy", FAILED);
      return;
    }
    if (from === "rolling_back") {
      run.set(run.current || "RollBackAppliedSteps", FAILED).set("MarkRollbackFailed", DONE)
        .set("RollbackFailed", FAILED);
      return;
    }
    if (from === "executing") run.failOnRoute();
    else {
      const failedAt = { planning: "PlanDeployment", verifying: "VerifyDeployment" }[from] || run.current;
      if (failedAt) run.set(failedAt, FAILED);
    }
    run.settle(FAILED);
    if (from === "executing" || from === "verifying") run.set("ShouldRollBack", DONE);
    run.set("MarkFailed", DONE).set("DeploymentFailed", FAILED);
  },
  rollback_started: (run, event) => {
    const from = event.from_status;
    if (from === "completed" || from === "failed") {
      run.set("ChooseMode", DONE);
    } else {
      if (from === "executing") run.failOnRoute();
      else {
        const failedAt = from === "verifying" ? "VerifyDeployment" : run.current;
        if (failedAt) run.set(failedAt, FAILED);
      }
      run.settle(FAILED).set("ShouldRollBack", DONE);
    }
    run.set("StartRollback", DONE).set("RollBackAppliedSteps", RUNNING);
  },
  rolled_back: (run, _event, mode) => {
    run.settle();
    for (const state of ROLLBACK_CHAIN) run.set(state, ROLLED_BACK);
    run.set(mode === "rollback" ? "RollbackCompleted" : "DeploymentRolledBack", ROLLED_BACK);
  },
};

/**
 * deriveProgress(deployment, events) -> {mode, states: {state: status}, path: [state, ...], notes: {state: text}}
 * `deployment` is GET /deployments/{id}; `events` the items of GET /deployments/{id}/events.
 */
export function deriveProgress(deployment, events) {
  const { mode, events: latest } = latestExecution(events || []);
  const run = new Replay(routeOf(deployment));
  for (const event of latest) {
    const handle = HANDLERS[event.type];
    if (handle) handle(run, event, mode);
  }
  followPhase(run, deployment);
  // No event yet (the list is read just after the deployment was created): the execution has started anyway.
  if (!run.path.length && deployment) run.set("ChooseMode", DONE);
  for (const [map, inner] of Object.entries(INNER)) {
    if (map in run.states) for (const state of inner) run.states[state] = run.states[map];
  }
  return { mode, states: run.states, path: run.path, notes: notes(deployment, run) };
}

/** While the deployment executes, its phase says which segment runs (or that it bakes), perhaps before any event. */
function followPhase(run, deployment) {
  const running = run.current;
  if (!deployment || deployment.status !== "executing" || !deployment.phase || run.at < 0) return;
  if (!running || !run.route.some((label) => stateOf(label) === running)) return;
  if (deployment.phase === "bake") {
    run.advance(run.next("Bake"), RUNNING);
    return;
  }
  const phase = ((deployment.plan || {}).phases || []).find((p) => p.name === deployment.phase);
  const segment = phase && SEGMENT_OF[phase.kind];
  if (segment) run.advance(run.next(`ExecuteWaves:${segment}`), RUNNING);
}

export function statusOf(progress, state) {
  return progress.states[state] || NOT_REACHED;
}

function notes(deployment, run) {
  const out = {};
  if (!deployment) return out;
  const plan = deployment.plan;
  const counts = deployment.steps || {};
  if (plan) {
    const succeeded = (counts.by_status || {}).succeeded || 0;
    const waves = plan.wave_count;
    out.ExecuteWaves = `${waves} wave${waves === 1 ? "" : "s"} · ${succeeded}/${plan.step_count} steps applied`;
    out.PlanDeployment = `${plan.step_count} steps · ${plan.risk_assessment} risk`;
  }
  const bake = run.bake || {};
  if (bake.bake_seconds != null) out.Bake = `${bake.bake_seconds} s bake after the ${bake.phase}`;
  const undone = counts.rolled_back || 0;
  if (undone || "RollBackAppliedSteps" in run.states) out.RollBackAppliedSteps = `${undone} step${undone === 1 ? "" : "s"} undone`;
  const approval = deployment.approval || {};
  if (approval.decided_by) out.WaitForApproval = `${approval.decision || "decided"} by ${approval.decided_by}`;
  else if (run.states.WaitForApproval === WAITING) out.WaitForApproval = "waiting for a person";
  return out;
}
