from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from ...domain.users import Permission
from ...observability import MetricUnit, metrics
from ...usecases import plans as uc
from ...wiring import services
from ..context import correlation_id, current_user
from ..conventions import changes_nothing
from ..guard import requires
from ..schemas import SpeculativePlanOut, responses
from ..views import speculative_plan_view
from .deployments import IntentBody

router = APIGatewayRouter()
TAGS = ["plans"]


@router.post("/plans", operation_id="createSpeculativePlan",
             summary="What an intent would change: the plan a deployment of it would get now, without creating "
                     "one (nothing is claimed or run; only an audit record is kept)", tags=TAGS,
             responses=responses(200, "The plan and its summary", 400, 401, 403, 415, 422, 429, 503))
@requires(Permission.DEPLOYMENT_CREATE)
@changes_nothing
def create(intent: IntentBody) -> SpeculativePlanOut:
    result = uc.speculative_plan(services(), current_user(router), intent, correlation_id=correlation_id(router))
    metrics.add_metric(name="SpeculativePlans", unit=MetricUnit.Count, value=1)
    return speculative_plan_view(result)
