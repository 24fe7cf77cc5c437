#!/bin/sh
# The roles the deploy step names (LocalStack does not enforce IAM, but the Lambda API wants them to exist).
trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","states.amazonaws.com"]},"Action":"sts:AssumeRole"}]}'
awslocal iam create-role --role-name orchestrator-local-lambda --assume-role-policy-document "$trust" >/dev/null
awslocal iam create-role --role-name orchestrator-local-states --assume-role-policy-document "$trust" >/dev/null
echo "orchestrator roles ready"
