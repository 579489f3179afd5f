import { Stack, Validations } from "aws-cdk-lib";
import type { Grant, IGrantable } from "aws-cdk-lib/aws-iam";
import { flattenCfnReference } from "cdk-nag/lib/utils/flatten-cfn-reference.js";
import { Construct } from "constructs";
import { ConstructPropsError } from "./props-error.js";

/**
 * Acknowledges cdk-nag's AwsSolutions-IAM5 finding for each wildcard resource of a grant, on the
 * grantee's principal (the role whose policy holds the statement). The finding IDs are computed
 * the way cdk-nag prints them (`AwsSolutions-IAM5[Resource::<flattened ARN>]`), so only these
 * exact resources are acknowledged: any other wildcard still fails the synth.
 */
export function acknowledgeGrantWildcards(grantee: IGrantable, grant: Grant, reason: string): void {
  const principal = grantee.grantPrincipal;
  const scope = Construct.isConstruct(principal)
    ? principal
    : Construct.isConstruct(grantee)
      ? grantee
      : undefined;
  if (!scope) return;
  const stack = Stack.of(scope);
  for (const statement of grant.principalStatements) {
    for (const resource of statement.resources) {
      const flat = flattenCfnReference(stack.resolve(resource));
      if (flat === "*") {
        throw new ConstructPropsError(scope.node.path, "a grant on every resource (*) is never acknowledged");
      }
      if (flat.includes("*")) {
        Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${flat}]`, reason });
      }
    }
  }
}
