import { App, Tags, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import { BackgroundAgentsStack, stackSettingsFromContext } from "./stacks/background-agents-stack.js";

const app = new App();
const settings = stackSettingsFromContext(app);

new BackgroundAgentsStack(app, `BackgroundAgents-${settings.stage}`, {
  stage: settings.stage,
  logRetention: settings.logRetentionDays,
  defaultLimits: settings.defaultLimits,
  domainName: settings.domainName,
  certificateArn: settings.certificateArn,
  alarmEmail: settings.alarmEmail,
  harnessCpu: settings.harnessCpu,
  harnessMemoryMiB: settings.harnessMemoryMiB,
  vpcId: settings.vpcId,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
Tags.of(app).add("project", "background-agents-cloud");
Tags.of(app).add("stage", settings.stage);

// cdk-nag 3 is a policy-validation plugin: an unacknowledged error finding fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
