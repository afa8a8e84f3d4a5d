using System.Net;
using Grpc.Core;

namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>
/// A gRPC <see cref="CallInvoker"/> for short-lived processes such as the CNI plugin: unary calls only, on one plaintext
/// HTTP/2 connection used sequentially, with blocking I/O on the calling thread. Generated clients work on it unchanged.
/// Compared with a <see cref="Grpc.Net.Client.GrpcChannel"/> it has no connection pool, handler pipeline, background
/// reader or thread-pool work, which is most of the cost of a process's first (and only) call. The calls themselves are
/// <see cref="Http2UnaryClient"/>'s; this class converts messages, statuses and metadata.
/// </summary>
internal sealed class Http2UnaryCallInvoker : CallInvoker, IDisposable
{
    private readonly Http2UnaryClient _client;

    public Http2UnaryCallInvoker(EndPoint endpoint, string authority, string address, TimeProvider? time = null, int maxResponseBytes = 4 * 1024 * 1024)
        : this(new Http2UnaryClient(endpoint, authority, address, time, maxResponseBytes))
    {
    }

    private Http2UnaryCallInvoker(Http2UnaryClient client) => _client = client;

    /// <summary>"unix:///path", an absolute socket path, or "host:port".</summary>
    public static Http2UnaryCallInvoker ForAddress(string address, TimeProvider? time = null) => new(Http2UnaryClient.ForAddress(address, time));

    /// <summary>
    /// Opens the connection now (a blocking dial) instead of at the first call, so a caller can tell "nothing listens"
    /// from a failed call. Transport failures are an <see cref="RpcException"/> (UNAVAILABLE; DEADLINE_EXCEEDED after
    /// <paramref name="timeout"/>).
    /// </summary>
    public void Connect(TimeSpan timeout)
    {
        try
        {
            _client.Connect(timeout);
        }
        catch (GrpcCallException ex)
        {
            throw new RpcException(ToStatus(ex.Status));
        }
    }

    public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        var (response, _) = Invoke(method, options, request);
        return response;
    }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
    {
        // The I/O is blocking by design; an async caller gets it on a pool thread so its own thread is not held.
        var call = Task.Run(() => Invoke(method, options, request), options.CancellationToken);
        return new AsyncUnaryCall<TResponse>(
            ResponseAsync(call),
            HeadersAsync(call),
            () => call.IsCompletedSuccessfully ? Status.DefaultSuccess
                : call.Exception?.InnerException is RpcException failed ? failed.Status
                : throw new InvalidOperationException("the call has not completed yet"),
            () => call.IsCompletedSuccessfully ? GrpcMetadataConversion.ToMetadata(call.Result.Result.Trailers) : [],
            () => { });

        static async Task<TResponse> ResponseAsync(Task<(TResponse Response, UnaryCallResult Result)> call) => (await call.ConfigureAwait(false)).Response;

        static async Task<Metadata> HeadersAsync(Task<(TResponse Response, UnaryCallResult Result)> call) =>
            GrpcMetadataConversion.ToMetadata((await call.ConfigureAwait(false)).Result.ResponseHeaders);
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        throw new NotSupportedException($"{nameof(Http2UnaryCallInvoker)} makes unary calls only ({method.FullName} is server streaming)");

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new NotSupportedException($"{nameof(Http2UnaryCallInvoker)} makes unary calls only ({method.FullName} is client streaming)");

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new NotSupportedException($"{nameof(Http2UnaryCallInvoker)} makes unary calls only ({method.FullName} is duplex streaming)");

    public void Dispose() => _client.Dispose();

    private static Status ToStatus(GrpcCallStatus status) => new((StatusCode)status.Code, status.Detail, status.DebugException);

    private (TResponse Response, UnaryCallResult Result) Invoke<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions options, TRequest request)
        where TRequest : class
        where TResponse : class
    {
        if (method.Type != MethodType.Unary)
        {
            throw new NotSupportedException($"{nameof(Http2UnaryCallInvoker)} makes unary calls only");
        }

        DateTimeOffset? deadline = options.Deadline is { } due && due != DateTime.MaxValue ? new DateTimeOffset(due.ToUniversalTime()) : null;
        var serialization = new BufferSerializationContext();
        method.RequestMarshaller.ContextualSerializer(request, serialization);
        var result = _client.Call("/" + method.FullName.TrimStart('/'), serialization.Payload, GrpcMetadataConversion.ToHeaderFields(options.Headers), deadline,
            options.CancellationToken);
        if (result.Status.Code != GrpcStatusCode.OK)
        {
            throw new RpcException(ToStatus(result.Status), GrpcMetadataConversion.ToMetadata(result.Trailers));
        }

        try
        {
            return (method.ResponseMarshaller.ContextualDeserializer(new BufferDeserializationContext(result.Message!)), result);
        }
        catch (Exception ex) when (ex is Google.Protobuf.InvalidProtocolBufferException or InvalidOperationException)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"the response of {method.FullName} could not be parsed: {ex.Message}", ex));
        }
    }
}
