import { afterEach, describe, expect, it, vi } from "vitest";
import { openTable } from "../../shared/composition.js";

// Nothing is sent: the clients are only asked which credentials and region they would use.
const endpoint = "http://127.0.0.1:9";

describe("openTable: whose credentials sign the requests", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("DynamoDB Local gets the fixed local credentials, whatever the environment holds", async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIAFROMTHEENVIRONMENT");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "from-the-environment");
    const { doc } = openTable({ tableName: "t", connection: { kind: "dynamodb-local", endpoint } });
    expect(await doc.config.credentials()).toMatchObject({ accessKeyId: "local", secretAccessKey: "local" });
  });

  it("any other DynamoDB (BGA_DYNAMODB_ENDPOINT, AWS) gets the SDK's default credential chain, in its region", async () => {
    vi.stubEnv("AWS_ACCESS_KEY_ID", "AKIAFROMTHEENVIRONMENT");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "from-the-environment");
    vi.stubEnv("AWS_SESSION_TOKEN", "session");
    const { doc, tableName } = openTable({
      tableName: "t",
      connection: { kind: "aws", region: "eu-west-3", endpoint },
    });
    expect(tableName).toBe("t");
    expect(await doc.config.credentials()).toMatchObject({
      accessKeyId: "AKIAFROMTHEENVIRONMENT",
      sessionToken: "session",
    });
    expect(await doc.config.region()).toBe("eu-west-3");
  });
});
