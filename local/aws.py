"""In-process AWS for the demo and the tests: the state table, the findings topic and an SQS
queue subscribed to it (the way to read what a workflow published), shaped like template.yaml."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

REGION = "eu-west-1"


@dataclass
class LocalAws:
    table_name: str
    topic_arn: str
    queue_url: str
    dynamodb: Any
    sns: Any
    sqs: Any

    def env(self) -> dict[str, str]:
        """The variables template.yaml gives every function."""
        return {
            "STATE_TABLE": self.table_name,
            "FINDINGS_TOPIC_ARN": self.topic_arn,
            "AWS_DEFAULT_REGION": REGION,
        }

    def messages(self) -> list[dict[str, Any]]:
        """Drain the queue: each SNS notification as delivered (envelope with ``Message``)."""
        out: list[dict[str, Any]] = []
        while True:
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            batch = answer.get("Messages", [])
            if not batch:
                return out
            for message in batch:
                out.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def findings(self) -> list[dict[str, Any]]:
        """The canonical finding JSON of every message published since the last call."""
        return [json.loads(m["Message"]) for m in self.messages()]


def create_local_aws(prefix: str = "docspace-sentinel") -> LocalAws:
    """Create the resources in whatever AWS boto3 points at (moto's ``mock_aws`` in practice)."""
    import boto3

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    table = f"{prefix}-state"
    dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
    )
    dynamodb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"}
    )
    topic_arn = sns.create_topic(Name=f"{prefix}-findings")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"{prefix}-findings-reader")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return LocalAws(table, topic_arn, queue_url, dynamodb, sns, sqs)
