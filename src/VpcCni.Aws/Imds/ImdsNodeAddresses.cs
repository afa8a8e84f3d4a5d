using System.Net;

namespace VpcCni.Aws.Imds;

/// <summary>
/// The node's own addresses from IMDS, for the init command's conflist (upstream's entrypoint reads <c>local-ipv4</c> or
/// <c>ipv6</c> for the egress plugin's nodeIP). The endpoint comes from AWS_EC2_METADATA_SERVICE_ENDPOINT /
/// AWS_EC2_METADATA_DISABLED in <c>variables</c>, as for the daemon.
/// </summary>
public static class ImdsNodeAddresses
{
    /// <summary>IMDS <c>local-ipv4</c>; throws when IMDS cannot tell.</summary>
    public static async Task<IPAddress> GetLocalIPv4Async(Func<string, string?> variables, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using var imds = Create(http, variables);
        return await imds.GetLocalIPv4Async(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>IMDS <c>ipv6</c> (the primary ENI's first IPv6); null when the node has none (404).</summary>
    public static async Task<IPAddress?> GetIPv6Async(Func<string, string?> variables, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using var imds = Create(http, variables);
        return await imds.GetIPv6Async(cancellationToken).ConfigureAwait(false);
    }

    private static ImdsClient Create(HttpClient http, Func<string, string?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        var options = new ImdsOptions();
        ImdsOptions.Bind(options, variables);
        return new ImdsClient(http, options);
    }
}
