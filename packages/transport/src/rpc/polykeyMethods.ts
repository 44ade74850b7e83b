/**
 * The agent RPC methods of Polykey 1.x (1.15.1's agent manifest). A call to
 * a Polykey 1.x peer for any other method is refused before it is sent
 * (`ErrorRPCMethodUnsupported`): a 1.x agent is never sent what it cannot
 * handle.
 */
const polykeyMethods: ReadonlySet<string> = new Set([
  'nodesClaimNetworkSign',
  'nodesClaimsGet',
  'nodesClosestActiveConnectionsGet',
  'nodesClosestLocalNodesGet',
  'nodesConnectionSignalFinal',
  'nodesConnectionSignalInitial',
  'nodesCrossSignClaim',
  'notificationsSend',
  'vaultsGitInfoGet',
  'vaultsGitPackGet',
  'vaultsScan',
]);

export { polykeyMethods };
