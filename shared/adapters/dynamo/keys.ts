/** Single-table keys. Every key carries the tenant, so one tenant's IDs never reach another's items. */
export const SEQ_WIDTH = 12;

export const keys = {
  task: (tenantId: string, taskId: string) => ({ pk: `TENANT#${tenantId}#TASK#${taskId}`, sk: "TASK" }),
  chunkSk: (seq: number) => `CHUNK#${String(seq).padStart(SEQ_WIDTH, "0")}`,
  checkpoint: (tenantId: string, taskId: string) => ({
    pk: `TENANT#${tenantId}#TASK#${taskId}`,
    sk: "CHECKPOINT",
  }),
  counters: (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: "COUNTERS" }),
  idempotency: (tenantId: string, keyHash: string) => ({
    pk: `TENANT#${tenantId}#IDEMPOTENCY#${keyHash}`,
    sk: "IDEMPOTENCY",
  }),
  /** GSI `by_tenant`: all of a tenant's tasks, newest first. */
  byTenant: (tenantId: string) => `TENANT#${tenantId}`,
  /** GSI `by_status`: a tenant's tasks in one status, newest first (no scan, no filter). */
  byStatus: (tenantId: string, status: string) => `TENANT#${tenantId}#STATUS#${status}`,
  listSk: (createdAt: string, taskId: string) => `${createdAt}#${taskId}`,
};

export const INDEX_BY_TENANT = "by_tenant";
export const INDEX_BY_STATUS = "by_status";
