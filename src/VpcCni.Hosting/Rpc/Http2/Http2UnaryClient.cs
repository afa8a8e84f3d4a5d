using System.Net;
using System.Net.Sockets;

namespace VpcCni.Hosting.Rpc.Http2;

/// <summary>
/// Unary gRPC calls as bytes: a method path and a serialized request in, a status and the serialized response out, on
/// one plaintext HTTP/2 connection used sequentially with blocking I/O on the calling thread. It knows no message
/// types and no Grpc.Core types, so the CNI plugin, which brings its own protobuf codec, links neither Google.Protobuf
/// nor Grpc.Core.Api (docs/benchmarks.md: both are rehydrated at every start of the Native AOT binary).
/// <see cref="Http2UnaryCallInvoker"/> puts generated clients on it.
/// </summary>
internal sealed class Http2UnaryClient : IDisposable
{
    private readonly EndPoint _endpoint;
    private readonly string _authority;
    private readonly TimeProvider _time;
    private readonly int _maxResponseBytes;
    private readonly Lock _gate = new();
    private Http2GrpcConnection? _connection;

    public Http2UnaryClient(EndPoint endpoint, string authority, string address, TimeProvider? time = null, int maxResponseBytes = 4 * 1024 * 1024)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        _endpoint = endpoint;
        _authority = authority;
        Address = address;
        _time = time ?? TimeProvider.System;
        _maxResponseBytes = maxResponseBytes;
    }

    /// <summary>The address the client was made for, as status details name it.</summary>
    public string Address { get; }

    /// <summary>"unix:///path", an absolute socket path, or "host:port".</summary>
    public static Http2UnaryClient ForAddress(string address, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        if (IpamdChannel.SocketPathOf(address) is { } socketPath)
        {
            return new Http2UnaryClient(new UnixDomainSocketEndPoint(socketPath), "localhost", address, time);
        }

        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), out var port) || port is <= 0 or > 65535)
        {
            throw new ArgumentException($"\"{address}\" is neither a Unix socket path nor host:port", nameof(address));
        }

        var host = address[..colon].Trim('[', ']');
        EndPoint endpoint = IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, port) : new DnsEndPoint(host, port);
        return new Http2UnaryClient(endpoint, address, address, time);
    }

    /// <summary>
    /// Opens the connection now (a blocking dial) instead of at the first call, so a caller can tell "nothing listens"
    /// from a failed call.
    /// </summary>
    /// <exception cref="GrpcCallException">UNAVAILABLE; DEADLINE_EXCEEDED after <paramref name="timeout"/>.</exception>
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
                throw new GrpcCallException(GrpcStatusMapping.FromTransportFailure(ex, Address));
            }
        }
    }

    /// <summary>
    /// One unary call of <paramref name="path"/> ("/package.Service/Method"). Every outcome is a result, never an
    /// exception: the server's status, or the status of a failure to get one (transport, deadline, cancellation).
    /// </summary>
    public UnaryCallResult Call(string path, ReadOnlySpan<byte> request, DateTimeOffset? deadline, CancellationToken cancellationToken) =>
        Call(path, request, requestHeaders: null, deadline, cancellationToken);

    /// <summary>As <see cref="Call(string, ReadOnlySpan{byte}, DateTimeOffset?, CancellationToken)"/>, with request metadata as header fields.</summary>
    public UnaryCallResult Call(string path, ReadOnlySpan<byte> request, IReadOnlyList<(string Name, string Value)>? requestHeaders, DateTimeOffset? deadline,
        CancellationToken cancellationToken)
    {
        TimeSpan? timeout = null;
        if (deadline is { } due && due != DateTimeOffset.MaxValue)
        {
            timeout = due - _time.GetUtcNow();
            if (timeout <= TimeSpan.Zero)
            {
                return UnaryCallResult.Failed(new GrpcCallStatus(GrpcStatusCode.DeadlineExceeded, "the deadline passed before the call started"));
            }
        }

        lock (_gate)
        {
            Http2GrpcConnection? connection = null;
            try
            {
                connection = _connection is { IsUsable: true } open ? open : Reconnect();
                return connection.Call(path, _authority, request, requestHeaders, timeout, _maxResponseBytes, cancellationToken);
            }
            catch (Exception ex) when (GrpcStatusMapping.IsTransportFailure(ex))
            {
                Drop(connection);
                return UnaryCallResult.Failed(cancellationToken.IsCancellationRequested
                    ? new GrpcCallStatus(GrpcStatusCode.Cancelled, "the call was cancelled", ex)
                    : GrpcStatusMapping.FromTransportFailure(ex, Address));
            }
            catch (OperationCanceledException ex)
            {
                Drop(connection);
                return UnaryCallResult.Failed(new GrpcCallStatus(GrpcStatusCode.Cancelled, "the call was cancelled", ex));
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _connection?.Dispose();
            _connection = null;
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
