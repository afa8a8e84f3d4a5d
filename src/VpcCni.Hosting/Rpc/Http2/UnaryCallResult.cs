using Grpc.Core;

namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>What one unary call returned: gRPC status, the single response message (if any) and the metadata.</summary>
internal sealed record UnaryCallResult(Status Status, byte[]? Message, Metadata ResponseHeaders, Metadata Trailers);
