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
//   approval_requested                                                              WaitForApproval: waiting
//   approved                        WaitForApproval done (skipped if auto-approve)  BeginExecution
//   rejected                        WaitForApproval done; DeploymentRejected failed
//   cancelled (reason "approval     WaitForApproval failed (timed out); ExpireApproval done; ApprovalExpired failed
//     expired")
//   cancelled (otherwise)           the running state (WaitForApproval: done) -> DeploymentCancelled failed
//   execution_started               BeginExecution, FrozenUntil done                ExecuteWaves
//   step_succeeded, step_failed     (one step of an ApplyBatch; a failed attempt may be retried: no change of state)
//   verification_started            ExecuteWaves done                               VerifyDeployment
//   verified                        VerifyDeployment done                           MarkCompleted
//   completed                       MarkCompleted done; DeploymentCompleted done
//   failed (planning, policy)       PlanDeployment, RouteAfterPlan done; PlanBlockedByPolicy failed
//   failed (planning, other)        PlanDeployment failed; MarkFailed done; DeploymentFailed failed
//   failed (executing | verifying)  ExecuteWaves | VerifyDeployment failed; ShouldRollBack, MarkFailed done;
//                                   DeploymentFailed failed
//   failed (rolling_back)           the rollback state running failed; MarkRollbackFailed done; RollbackFailed failed
//   rollback_started (executing |   ExecuteWaves | VerifyDeployment failed (or cancelled while running);
//     verifying)                    ShouldRollBack, StartRollback done                RollBackAppliedSteps
//   rollback_started (completed |   a new execution: ChooseMode, StartRollback done    RollBackAppliedSteps
//     failed: requested)
//   rolled_back                     StartRollback, RollBackAppliedSteps, MarkRolledBack, RolledBackOnRequest and
//                                   RollbackCompleted (requested) or DeploymentRolledBack (after a failure):
//                                   rolled back
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

class Replay {
  constructor() {
    this.path = []; // states in the order the execution entered them
    this.states = {}; // state -> status
  }

  set(state, status) {
    if (!(state in this.states)) this.path.push(state);
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
  execution_started: (run) => run.settle().set("BeginExecution", DONE).set("FrozenUntil", DONE)
    .set("ExecuteWaves", RUNNING),
  step_succeeded: (run) => run.states.ExecuteWaves || run.set("ExecuteWaves", RUNNING),
  step_failed: (run) => run.states.ExecuteWaves || run.set("ExecuteWaves", RUNNING),
  verification_started: (run) => run.settle().set("ExecuteWaves", DONE).set("VerifyDeployment", RUNNING),
  verified: (run) => run.settle().set("VerifyDeployment", DONE).set("MarkCompleted", RUNNING),
  completed: (run) => run.settle().set("MarkCompleted", DONE).set("DeploymentCompleted", DONE),
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
    const failedAt = { planning: "PlanDeployment", executing: "ExecuteWaves", verifying: "VerifyDeployment" }[from]
      || run.current;
    if (failedAt) run.set(failedAt, FAILED);
    run.settle(FAILED);
    if (from === "executing" || from === "verifying") run.set("ShouldRollBack", DONE);
    run.set("MarkFailed", DONE).set("DeploymentFailed", FAILED);
  },
  rollback_started: (run, event) => {
    const from = event.from_status;
    if (from === "completed" || from === "failed") {
      run.set("ChooseMode", DONE);
    } else {
      const failedAt = { executing: "ExecuteWaves", verifying: "VerifyDeployment" }[from] || run.current;
      if (failedAt) run.set(failedAt, FAILED);
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
  const run = new Replay();
  for (const event of latest) {
    const handle = HANDLERS[event.type];
    if (handle) handle(run, event, mode);
  }
  // No event yet (the list is read just after the deployment was created): the execution has started anyway.
  if (!run.path.length && deployment) run.set("ChooseMode", DONE);
  for (const [map, inner] of Object.entries(INNER)) {
    if (map in run.states) for (const state of inner) run.states[state] = run.states[map];
  }
  return { mode, states: run.states, path: run.path, notes: notes(deployment, run) };
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
  const undone = counts.rolled_back || 0;
  if (undone || "RollBackAppliedSteps" in run.states) out.RollBackAppliedSteps = `${undone} step${undone === 1 ? "" : "s"} undone`;
  const approval = deployment.approval || {};
  if (approval.decided_by) out.WaitForApproval = `${approval.decision || "decided"} by ${approval.decided_by}`;
  else if (run.states.WaitForApproval === WAITING) out.WaitForApproval = "waiting for a person";
  return out;
}
