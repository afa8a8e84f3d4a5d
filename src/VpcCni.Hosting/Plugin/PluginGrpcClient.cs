namespace VpcCni.Hosting.Plugin;

/// <summary>Which gRPC client the plugin talks to the daemon with.</summary>
internal enum PluginGrpcClient
{
    /// <summary>The lean unary HTTP/2 client (<see cref="Rpc.Http2.Http2UnaryCallInvoker"/>): the default, cheapest per call.</summary>
    Http2,

    /// <summary>Grpc.Net.Client over SocketsHttpHandler: the fallback should the lean client ever misbehave with a daemon.</summary>
    GrpcNet,
}
