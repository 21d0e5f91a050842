// Request/reply between datacenters: `trellis.rpc.<callee>.<service>.<verb>.<caller>`, msgpack
// payloads, typed errors carried across; the callee trusts only the subject's last token.
export { createRpcServer, createRpcClient, isNoResponders, RpcUnreachableError, type RpcServer, type RpcClient, type RpcHandler, type RpcDeps } from './rpc.js';
