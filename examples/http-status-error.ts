/**
 * What the examples' simulated HTTP services throw when they answer an error status (gateways in
 * gateway-failover, services in service-calls, the warehouse in batch-bulkhead): the message is
 * `<downstream> answered <status>`, the name is the subclass's, e.g. `GatewayUnavailableError`.
 */
export class HttpStatusError extends Error {
  constructor(
    /** Who answered, e.g. `toss` or `user-service`. */
    readonly downstream: string,
    readonly status: number,
  ) {
    super(`${downstream} answered ${status}`);
    this.name = new.target.name;
  }
}
