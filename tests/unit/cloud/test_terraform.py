import json
import random
import re

import pytest

from orchestrator.cloud.terraform import (
    TERRAFORM_TYPES,
    local_name,
    terraform_address,
    terraform_by_provider,
    terraform_document,
    terraform_resource,
)
from orchestrator.domain.catalogue import Provider, ResourceType
from orchestrator.domain.intent import ResourceSpec

REGION = {Provider.AWS: "us-east-1", Provider.AZURE: "westeurope", Provider.GCP: "europe-west1"}
PAIRS = [(p, t) for p in Provider for t in ResourceType]
PREFIX = {Provider.AWS: "aws_", Provider.AZURE: "azurerm_", Provider.GCP: "google_"}
SOURCE = {Provider.AWS: ("aws", "hashicorp/aws"), Provider.AZURE: ("azurerm", "hashicorp/azurerm"),
          Provider.GCP: ("google", "hashicorp/google")}
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
REFERENCE = re.compile(r"(?<!\$)\$\{([^}]*)\}")
TAGS = {"team": "payments", "Cost Center": "cc-42"}

# Resources that cannot carry labels or tags themselves: the companion that can carries them.
TAGS_ON_COMPANION = {
    (Provider.AZURE, ResourceType.QUEUE): "azurerm_servicebus_namespace",
    (Provider.GCP, ResourceType.NETWORK): None,  # a VPC network and its subnetwork take no labels at all
    (Provider.GCP, ResourceType.LOAD_BALANCER): "google_compute_global_forwarding_rule",
    (Provider.GCP, ResourceType.CDN): "google_storage_bucket",
}


def spec(provider=Provider.AWS, rtype=ResourceType.COMPUTE, name="web", region=None, **extra) -> ResourceSpec:
    provider = Provider(provider)
    return ResourceSpec(provider=provider, resource_type=rtype, region=region or REGION[provider], name=name, **extra)


def main_body(fragment: dict, s: ResourceSpec) -> dict:
    return fragment["resource"][TERRAFORM_TYPES[s.provider, s.resource_type]][local_name(s.name, s.region)]


def every_spec_of(provider: Provider) -> list[ResourceSpec]:
    return [spec(provider, t, name=f"r-{t.value.replace('_', '-')}", tags=TAGS) for t in ResourceType]


def references(value) -> list[str]:
    text = json.dumps(value)
    return REFERENCE.findall(text)


def test_terraform_types_cover_all_33_pairs_with_distinct_provider_prefixed_types():
    assert set(TERRAFORM_TYPES) == set(PAIRS) and len(PAIRS) == 33
    assert len(set(TERRAFORM_TYPES.values())) == 33
    for (provider, _), tf_type in TERRAFORM_TYPES.items():
        assert tf_type.startswith(PREFIX[provider])


@pytest.mark.parametrize(("provider", "rtype"), PAIRS, ids=[f"{p.value}-{t.value}" for p, t in PAIRS])
def test_every_pair_renders_json_that_round_trips_with_its_resource_type(provider, rtype):
    s = spec(provider, rtype, tags=TAGS)
    fragment = terraform_resource(s)
    assert json.loads(json.dumps(fragment)) == fragment
    body = main_body(fragment, s)
    assert body
    for tf_type, blocks in fragment["resource"].items():
        assert tf_type.startswith(PREFIX[provider])
        assert all(IDENTIFIER.match(local) for local in blocks)

    document = terraform_document([s], provider)
    assert json.loads(json.dumps(document)) == document
    local, source = SOURCE[provider]
    assert document["terraform"]["required_providers"][local]["source"] == source
    assert isinstance(document["provider"][local], list) and document["provider"][local]


@pytest.mark.parametrize(("provider", "rtype"), PAIRS, ids=[f"{p.value}-{t.value}" for p, t in PAIRS])
def test_every_pair_maps_the_intent_tags_to_tags_or_gcp_labels(provider, rtype):
    s = spec(provider, rtype, tags=TAGS)
    fragment = terraform_resource(s)
    expected = {"team": "payments", "cost_center": "cc-42"} if provider == Provider.GCP else TAGS
    key = "labels" if provider == Provider.GCP else "tags"
    if (provider, rtype) in TAGS_ON_COMPANION:
        holder = TAGS_ON_COMPANION[provider, rtype]
        if holder is None:
            assert "labels" not in json.dumps(fragment)
            return
        body = next(iter(fragment["resource"][holder].values()))
    else:
        body = main_body(fragment, s)
    if (provider, rtype) == (Provider.GCP, ResourceType.DATABASE):
        body, key = body["settings"], "user_labels"
    elif (provider, rtype) == (Provider.GCP, ResourceType.CONTAINER):
        key = "resource_labels"
    assert body[key] == expected


@pytest.mark.parametrize("provider", list(Provider))
def test_a_document_with_all_types_resolves_every_reference_it_makes(provider):
    document = terraform_document(every_spec_of(provider), provider)
    declared_resources = {f"{t}.{name}" for t, blocks in document["resource"].items() for name in blocks}
    declared_data = {f"data.{t}.{name}" for t, blocks in document.get("data", {}).items() for name in blocks}
    declared_vars = {f"var.{name}" for name in document.get("variable", {})}
    for ref in references(document):
        head = ".".join(ref.split("[")[0].split(".")[:3 if ref.startswith("data.") else 2])
        if head.startswith("count."):
            continue
        assert head in declared_resources | declared_data | declared_vars, ref
    for name in document.get("variable", {}):
        assert IDENTIFIER.match(name)


@pytest.mark.parametrize("provider", [Provider.AWS, Provider.GCP])
def test_regions_of_one_provider_share_a_document_through_aliased_provider_blocks(provider):
    other = {Provider.AWS: "eu-west-1", Provider.GCP: "us-central1"}[provider]
    specs = [spec(provider, ResourceType.QUEUE, name="jobs"), spec(provider, ResourceType.QUEUE, name="jobs",
                                                                   region=other)]
    document = terraform_document(specs, provider)
    local = SOURCE[provider][0]
    blocks = {b["alias"]: b["region"] for b in document["provider"][local]}
    assert blocks == {REGION[provider].replace("-", "_"): REGION[provider], other.replace("-", "_"): other}
    for resources in document["resource"].values():
        for body in resources.values():
            alias = body["provider"].split(".", 1)[1]
            assert body["provider"].startswith(f"{local}.") and alias in blocks
    queues = document["resource"][TERRAFORM_TYPES[provider, ResourceType.QUEUE]]
    assert set(queues) == {local_name("jobs", REGION[provider]), local_name("jobs", other)}


def test_global_aws_resources_use_a_global_alias_pointing_at_us_east_1():
    document = terraform_document([spec(Provider.AWS, ResourceType.DNS, name="zone", region="global")], Provider.AWS)
    assert document["provider"]["aws"] == [{"alias": "global", "region": "us-east-1"}]
    assert document["resource"]["aws_route53_zone"]["zone_global"]["provider"] == "aws.global"


def test_azure_document_has_one_featured_provider_block_and_a_resource_group_per_region():
    specs = [spec(Provider.AZURE, ResourceType.NETWORK, name="net"),
             spec(Provider.AZURE, ResourceType.NETWORK, name="net", region="eastus"),
             spec(Provider.AZURE, ResourceType.CACHE, name="cache")]
    document = terraform_document(specs, Provider.AZURE)
    assert document["provider"] == {"azurerm": [{"features": {}}]}
    groups = document["resource"]["azurerm_resource_group"]
    assert groups == {"rg_eastus": {"name": "rg-orchestrator-eastus", "location": "eastus"},
                      "rg_westeurope": {"name": "rg-orchestrator-westeurope", "location": "westeurope"}}
    vnet = document["resource"]["azurerm_virtual_network"]["net_eastus"]
    assert vnet["resource_group_name"] == "${azurerm_resource_group.rg_eastus.name}" and vnet["location"] == "eastus"


def test_dependencies_become_depends_on_within_one_document_only():
    vpc = spec(Provider.AWS, ResourceType.NETWORK, name="vpc")
    db = spec(Provider.AWS, ResourceType.DATABASE, name="db", dependencies=[vpc.identifier])
    api = spec(Provider.AWS, ResourceType.COMPUTE, name="api", dependencies=[
        vpc.identifier, db.identifier, "gcp/europe-west1/network/other", "aws/us-east-1/queue/missing"])
    document = terraform_document([api, db, vpc], Provider.AWS)
    resources = document["resource"]
    assert resources["aws_db_instance"]["db_us_east_1"]["depends_on"] == ["aws_vpc.vpc_us_east_1"]
    assert resources["aws_instance"]["api_us_east_1"]["depends_on"] == ["aws_vpc.vpc_us_east_1",
                                                                        "aws_db_instance.db_us_east_1"]
    assert "depends_on" not in resources["aws_vpc"]["vpc_us_east_1"]
    # A lone fragment names every same-provider dependency; the other provider's never.
    assert main_body(terraform_resource(api), api)["depends_on"] == [
        "aws_vpc.vpc_us_east_1", "aws_db_instance.db_us_east_1", "aws_sqs_queue.missing_us_east_1"]


def test_document_is_deterministic_whatever_the_order_of_the_specs():
    specs = every_spec_of(Provider.GCP) + [spec(Provider.GCP, ResourceType.COMPUTE, name="a", region="us-central1")]
    first = json.dumps(terraform_document(specs, Provider.GCP))
    shuffled = specs[:]
    random.Random(7).shuffle(shuffled)
    assert json.dumps(terraform_document(shuffled, Provider.GCP)) == first


def test_terraform_by_provider_gives_one_document_per_provider_used():
    specs = [spec(Provider.GCP, ResourceType.QUEUE), spec(Provider.AWS, ResourceType.QUEUE)]
    documents = terraform_by_provider(specs)
    assert list(documents) == ["aws", "gcp"]
    assert list(documents["aws"]["resource"]) == ["aws_sqs_queue"]
    assert "google_pubsub_topic" in documents["gcp"]["resource"]


def test_document_leaves_out_other_providers_and_rejects_duplicate_identifiers():
    aws = spec(Provider.AWS, ResourceType.QUEUE)
    assert "google_pubsub_topic" not in json.dumps(terraform_document([aws, spec(Provider.GCP, ResourceType.QUEUE)],
                                                                      Provider.AWS))
    with pytest.raises(ValueError):
        terraform_document([aws, aws], Provider.AWS)


@pytest.mark.parametrize(("provider", "rtype", "path", "sizes"), [
    (Provider.AWS, ResourceType.COMPUTE, ("instance_type",), ("t3.small", "m6i.large")),
    (Provider.AZURE, ResourceType.COMPUTE, ("size",), ("Standard_B2s", "Standard_D4s_v5")),
    (Provider.GCP, ResourceType.COMPUTE, ("machine_type",), ("e2-small", "n2-standard-4")),
    (Provider.AWS, ResourceType.DATABASE, ("instance_class",), ("db.t4g.small", "db.m6g.large")),
    (Provider.AZURE, ResourceType.DATABASE, ("sku_name",), ("B_Standard_B1ms", "GP_Standard_D4ds_v5")),
    (Provider.GCP, ResourceType.DATABASE, ("settings", "tier"), ("db-g1-small", "db-custom-4-15360")),
    (Provider.AWS, ResourceType.CACHE, ("node_type",), ("cache.t4g.small", "cache.m7g.large")),
    (Provider.GCP, ResourceType.CACHE, ("memory_size_gb",), (1, 5)),
])
def test_size_maps_to_the_provider_instance_class_with_small_as_default(provider, rtype, path, sizes):
    def pick(properties):
        s = spec(provider, rtype, properties=properties)
        value = main_body(terraform_resource(s), s)
        for key in path:
            value = value[key]
        return value

    assert pick({}) == sizes[0]
    assert pick({"size": "large"}) == sizes[1]
    assert pick({"size": "gigantic"}) == sizes[0]  # unknown sizes are estimated (and built) as small


def test_instance_type_property_overrides_the_size_table():
    s = spec(Provider.AWS, ResourceType.COMPUTE, properties={"size": "large", "instance_type": "c7g.2xlarge"})
    assert main_body(terraform_resource(s), s)["instance_type"] == "c7g.2xlarge"


def test_encryption_is_on_by_default_and_off_only_when_asked():
    bucket = spec(Provider.AWS, ResourceType.STORAGE, name="assets")
    fragment = terraform_resource(bucket)
    sse = fragment["resource"]["aws_s3_bucket_server_side_encryption_configuration"]["assets_us_east_1"]
    assert sse["rule"]["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}
    db = spec(Provider.AWS, ResourceType.DATABASE, name="db")
    assert main_body(terraform_resource(db), db)["storage_encrypted"] is True
    plain = spec(Provider.AWS, ResourceType.DATABASE, name="db", properties={"encrypted": False})
    assert main_body(terraform_resource(plain), plain)["storage_encrypted"] is False
    kms = spec(Provider.AWS, ResourceType.STORAGE, name="assets", properties={"kms_key_id": "arn:aws:kms:k"})
    rule = terraform_resource(kms)["resource"]["aws_s3_bucket_server_side_encryption_configuration"]
    assert rule["assets_us_east_1"]["rule"]["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms", "kms_master_key_id": "arn:aws:kms:k"}


def test_resources_are_closed_to_the_internet_unless_public_access_is_true():
    closed = spec(Provider.AWS, ResourceType.STORAGE, name="assets")
    block = terraform_resource(closed)["resource"]["aws_s3_bucket_public_access_block"]["assets_us_east_1"]
    assert block["block_public_acls"] and block["restrict_public_buckets"]
    gcp = spec(Provider.GCP, ResourceType.STORAGE, name="assets")
    assert main_body(terraform_resource(gcp), gcp)["public_access_prevention"] == "enforced"
    lb = spec(Provider.AWS, ResourceType.LOAD_BALANCER, name="edge", properties={"public_access": True})
    assert main_body(terraform_resource(lb), lb)["internal"] is False


def test_user_strings_are_escaped_so_they_never_become_terraform_expressions():
    s = spec(Provider.AWS, ResourceType.NETWORK, properties={"cidr": "${file(\"/etc/passwd\")}"})
    body = main_body(terraform_resource(s), s)
    assert body["cidr_block"] == "$${file(\"/etc/passwd\")}"
    assert references(body) == []


def test_missing_environment_inputs_become_declared_variables_and_properties_fill_them():
    lambda_fn = spec(Provider.AWS, ResourceType.SERVERLESS, name="fn")
    fragment = terraform_resource(lambda_fn)
    assert main_body(fragment, lambda_fn)["role"] == "${var.aws_lambda_role_arn}"
    assert fragment["variable"]["aws_lambda_role_arn"]["type"] == "string"
    given = spec(Provider.AWS, ResourceType.SERVERLESS, name="fn", properties={"role_arn": "arn:aws:iam::1:role/x"})
    fragment = terraform_resource(given)
    assert main_body(fragment, given)["role"] == "arn:aws:iam::1:role/x" and "variable" not in fragment


def test_compute_count_becomes_the_count_meta_argument():
    for provider in Provider:
        s = spec(provider, ResourceType.COMPUTE, properties={"count": 3})
        assert main_body(terraform_resource(s), s)["count"] == 3


def test_gcp_labels_are_sanitised_to_the_label_alphabet():
    s = spec(Provider.GCP, ResourceType.STORAGE, tags={"Owner": "Team A/B", "9lives": "x"})
    assert main_body(terraform_resource(s), s)["labels"] == {"owner": "team_a_b", "t_9lives": "x"}


def test_local_names_and_addresses_are_unique_per_name_and_region():
    assert local_name("web", "us-east-1") == "web_us_east_1"
    assert local_name("web-us", "east-1") != local_name("web", "us-east-1")
    assert terraform_address("azure/westeurope/cache/c") == "azurerm_redis_cache.c_westeurope"
    assert terraform_address("oracle/x/compute/y") is None


def test_fifo_queues_ask_each_provider_for_ordered_delivery():
    aws, azure, gcp = (spec(p, ResourceType.QUEUE, name="jobs", properties={"fifo": True}) for p in Provider)
    sqs = main_body(terraform_resource(aws), aws)
    assert sqs["name"] == "jobs.fifo" and sqs["fifo_queue"] is True
    assert main_body(terraform_resource(azure), azure)["requires_session"] is True
    subscription = terraform_resource(gcp)["resource"]["google_pubsub_subscription"]["jobs_europe_west1"]
    assert subscription["enable_message_ordering"] is True
