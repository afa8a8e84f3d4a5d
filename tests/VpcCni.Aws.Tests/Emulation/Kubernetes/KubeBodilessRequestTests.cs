using System.Net.Sockets;
using System.Text;

namespace VpcCni.Aws.Tests.Emulation.Kubernetes;

/// <summary>Requests without a body and without Content-Length (what `curl -X POST URL` sends) are answered, not refused with 411.</summary>
public sealed class KubeBodilessRequestTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AdminSwitch_PostWithoutContentLength_Applied()
    {
        await using var api = await KubeApi.StartAsync(nodes: 1);
        var address = api.Emulator.BaseAddress;
        using var client = new TcpClient();
        await client.ConnectAsync(address.Host, address.Port, Ct);
        var stream = client.GetStream();

        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"POST /emulator/kube/down HTTP/1.1\r\nHost: {address.Authority}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nConnection: close\r\n\r\n"), Ct);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var reply = await reader.ReadToEndAsync(Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);

        reply.Should().StartWith("HTTP/1.1 200");
        api.Emulator.Available.Should().BeFalse();
    }
}
