import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../infra/constructs/node-function.js";

// infra/app.ts run as `cdk synth` runs it: the context in CDK_CONTEXT_JSON (what `-c name=value`
// becomes), the cloud assembly written to CDK_OUTDIR, cdk-nag's packs run at the synth.

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

function synth(context: Record<string, string>) {
  const outdir = mkdtempSync(join(tmpdir(), "bga-app-"));
  outdirs.push(outdir);
  const run = spawnSync(process.execPath, ["--import", "tsx", "infra/app.ts"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    env: {
      ...process.env,
      // Bundling is slow and not what this checks: `npx cdk synth` does the real one.
      CDK_CONTEXT_JSON: JSON.stringify({ "aws:cdk:bundling-stacks": [], ...context }),
      CDK_OUTDIR: outdir,
    },
  });
  return { status: run.status, stderr: run.stderr, outdir };
}

type Template = {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  Outputs: Record<string, { Value: unknown }>;
};

describe("the CDK app's settings (-c name=value)", () => {
  it("put defaultLimits into the API's environment, a custom domain in front of it and an email on the alarms", () => {
    const certificateArn = "arn:aws:acm:us-east-1:123456789012:certificate/abc";
    const run = synth({
      stage: "ctx",
      defaultLimits: '{"max_running_tasks":5}',
      domainName: "api.example.com",
      certificateArn,
      alarmEmail: "ops@example.com",
    });
    // cdk-nag runs in this synth: the email subscription passes it too.
    expect(run.status, run.stderr).toBe(0);
    const template = JSON.parse(
      readFileSync(join(run.outdir, "BackgroundAgents-ctx.template.json"), "utf8"),
    ) as Template;
    const env = Object.values(template.Resources)
      .filter((r) => r.Type === "AWS::Lambda::Function")
      .map((r) => (r.Properties.Environment as { Variables: Record<string, unknown> }).Variables)
      .filter((vars) => vars.BGA_DEFAULT_LIMITS !== undefined);
    expect(env).toHaveLength(1);
    expect(env[0]?.BGA_DEFAULT_LIMITS).toBe('{"max_running_tasks":5}');
    // A browser on the custom domain is an accepted origin of the API.
    expect(env[0]?.BGA_ALLOWED_ORIGINS).toBe("https://api.example.com");
    const distributions = Object.values(template.Resources).filter(
      (r) => r.Type === "AWS::CloudFront::Distribution",
    );
    expect(distributions).toHaveLength(1);
    expect(distributions[0]?.Properties.DistributionConfig).toMatchObject({
      Aliases: ["api.example.com"],
      ViewerCertificate: { AcmCertificateArn: certificateArn },
    });
    expect(template.Outputs.CustomDomainUrl?.Value).toBe("https://api.example.com/");
    const subscriptions = Object.values(template.Resources).filter(
      (r) => r.Type === "AWS::SNS::Subscription",
    );
    expect(subscriptions).toHaveLength(1);
    expect(subscriptions[0]?.Properties).toMatchObject({ Protocol: "email", Endpoint: "ops@example.com" });
    expect(subscriptions[0]?.Properties.TopicArn).toEqual(template.Outputs.AlarmTopicArn?.Value);
  }, 120_000);

  it("fail the synth with every bad value named, before anything is built", () => {
    const run = synth({
      defaultLimits: '{"max_running_tasks":0,"max_task_secs":60}',
      domainName: "api.example.com",
      alarmEmail: "ops.example.com",
      harnessCpu: "1024",
      harnessMemoryMiB: "1000",
      vpcId: "default",
    });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("context: invalid settings:");
    expect(run.stderr).toContain("-c defaultLimits.max_running_tasks: Too small");
    expect(run.stderr).toContain('-c defaultLimits: Unrecognized key: "max_task_secs"');
    expect(run.stderr).toContain("-c certificateArn: domainName and certificateArn go together");
    expect(run.stderr).toContain("-c alarmEmail: must be an email address such as ops@example.com");
    expect(run.stderr).toContain(
      "-c harnessMemoryMiB: harnessCpu and harnessMemoryMiB must be a Fargate task size",
    );
    expect(run.stderr).toContain("-c vpcId: must be a VPC ID (vpc-…)");
  }, 120_000);
});
