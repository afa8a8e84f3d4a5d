using System.Net;
using System.Net.Sockets;
using Grpc.Core;

namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>
/// A gRPC <see cref="CallInvoker"/> for short-lived processes such as the CNI plugin: unary calls only, on one plaintext
/// HTTP/2 connection used sequentially, with blocking I/O on the calling thread. Generated clients work on it unchanged.
/// Compared with a <see cref="Grpc.Net.Client.GrpcChannel"/> it has no connection pool, handler pipeline, background
/// reader or thread-pool work, which is most of the cost of a process's first (and only) call.
/// </summary>
internal sealed class Http2UnaryCallInvoker : CallInvoker, IDisposable
{
    private readonly EndPoint _endpoint;
    private readonly string _authority;
    private readonly string _address;
    private readonly TimeProvider _time;
    private readonly int _maxResponseBytes;
    private readonly Lock _gate = new();
    private Http2GrpcConnection? _connection;

    public Http2UnaryCallInvoker(EndPoint endpoint, string authority, string address, TimeProvider? time = null, int maxResponseBytes = 4 * 1024 * 1024)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        _endpoint = endpoint;
        _authority = authority;
        _address = address;
        _time = time ?? TimeProvider.System;
        _maxResponseBytes = maxResponseBytes;
    }

    /// <summary>"unix:///path", an absolute socket path, or "host:port".</summary>
    public static Http2UnaryCallInvoker ForAddress(string address, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        if (IpamdChannel.SocketPathOf(address) is { } socketPath)
        {
            return new Http2UnaryCallInvoker(new UnixDomainSocketEndPoint(socketPath), "localhost", address, time);
        }

        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), out var port) || port is <= 0 or > 65535)
        {
            throw new ArgumentException($"\"{address}\" is neither a Unix socket path nor host:port", nameof(address));
        }

        var host = address[..colon].Trim('[', ']');
        EndPoint endpoint = IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, port) : new DnsEndPoint(host, port);
        return new Http2UnaryCallInvoker(endpoint, address, address, time);
    }

    /// <summary>
    /// Opens the connection now (a blocking dial) instead of at the first call, so a caller can tell "nothing listens"
    /// from a failed call. Transport failures are an <see cref="RpcException"/> (UNAVAILABLE; DEADLINE_EXCEEDED after
    /// <paramref name="timeout"/>).
    /// </summary>
    public void Connect(TimeSpan timeout)
    {
        lock (_gate)
        {
            if (_connection is { IsUsable: true })
            {
                return;
            }

            _connection?.Dispose();
            _connection = null;
            try
            {
                _connection = Http2GrpcConnection.Connect(_endpoint, timeout);
            }
            catch (Exception ex) when (GrpcStatusMapping.IsTransportFailure(ex))
            {
                throw new RpcException(GrpcStatusMapping.FromTransportFailure(ex, _address));
            }
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
            () => call.IsCompletedSuccessfully ? call.Result.Result.Trailers : [],
            () => { });

        static async Task<TResponse> ResponseAsync(Task<(TResponse Response, UnaryCallResult Result)> call) => (await call.ConfigureAwait(false)).Response;

        static async Task<Metadata> HeadersAsync(Task<(TResponse Response, UnaryCallResult Result)> call) => (await call.ConfigureAwait(false)).Result.ResponseHeaders;
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
        throw new NotSupportedException($"{nameof(Http2UnaryCallInvoker)} makes unary calls only ({method.FullName} is server streaming)");

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new NotSupportedException($"{nameof(Http2UnaryCallInvoker)} makes unary calls only ({method.FullName} is client streaming)");

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
        throw new NotSupportedException($"{nameof(Http2UnaryCallInvoker)} makes unary calls only ({method.FullName} is duplex streaming)");

    public void Dispose()
    {
        lock (_gate)
        {
            _connection?.Dispose();
            _connection = null;
        }
    }

    private (TResponse Response, UnaryCallResult Result) Invoke<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions options, TRequest request)
        where TRequest : class
        where TResponse : class
    {
        if (method.Type != MethodType.Unary)
        {
            throw new NotSupportedException($"{nameof(Http2UnaryCallInvoker)} makes unary calls only");
        }

        TimeSpan? timeout = null;
        if (options.Deadline is { } deadline && deadline != DateTime.MaxValue)
        {
            timeout = deadline.ToUniversalTime() - _time.GetUtcNow().UtcDateTime;
            if (timeout <= TimeSpan.Zero)
            {
                throw new RpcException(new Status(StatusCode.DeadlineExceeded, "the deadline passed before the call started"));
            }
        }

        var serialization = new BufferSerializationContext();
        method.RequestMarshaller.ContextualSerializer(request, serialization);
        UnaryCallResult result;
        lock (_gate)
        {
            Http2GrpcConnection? connection = null;
            try
            {
                connection = _connection is { IsUsable: true } open ? open : Reconnect();
                result = connection.Call("/" + method.FullName.TrimStart('/'), _authority, serialization.Payload, options.Headers, timeout, _maxResponseBytes, options.CancellationToken);
            }
            catch (Exception ex) when (GrpcStatusMapping.IsTransportFailure(ex))
            {
                Drop(connection);
                if (options.CancellationToken.IsCancellationRequested)
                {
                    throw new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled", ex));
                }

                throw new RpcException(GrpcStatusMapping.FromTransportFailure(ex, _address));
            }
            catch (OperationCanceledException ex)
            {
                Drop(connection);
                throw new RpcException(new Status(StatusCode.Cancelled, "the call was cancelled", ex));
            }
        }

        if (result.Status.StatusCode != StatusCode.OK)
        {
            throw new RpcException(result.Status, result.Trailers);
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

    private Http2GrpcConnection Reconnect()
    {
        _connection?.Dispose();
        _connection = null;
        _connection = Http2GrpcConnection.Connect(_endpoint);
        return _connection;
    }

    private void Drop(Http2GrpcConnection? connection)
    {
        if (connection is not null && ReferenceEquals(connection, _connection))
        {
            _connection.Dispose();
            _connection = null;
        }
    }
}
