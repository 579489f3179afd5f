import "vitest";
import "../../local/polyfills.js";
import type { TestProject } from "vitest/node";
import { type EmbeddedDynamo, startEmbeddedDynamo } from "../../local/embedded-dynamodb.js";

declare module "vitest" {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
  }
}

let dynamo: EmbeddedDynamo | undefined;

/** Starts the official DynamoDB Local once per test run (in memory); every file makes its own table. */
export async function setup(project: TestProject): Promise<void> {
  dynamo = await startEmbeddedDynamo();
  project.provide("dynamodbEndpoint", dynamo.endpoint);
}

export async function teardown(): Promise<void> {
  await dynamo?.stop();
}
