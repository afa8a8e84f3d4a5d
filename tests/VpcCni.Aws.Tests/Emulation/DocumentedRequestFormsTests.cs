using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Xml.Linq;

namespace VpcCni.Aws.Tests.Emulation;

/// <summary>
/// The emulator answers the requests exactly as AWS documents them (curl's forms), not only what the SDK sends: IMDSv2's
/// bodiless PUT, the form-encoded POST and the GET query string of the EC2 Query API, and EC2 error documents for bad input.
/// </summary>
public class DocumentedRequestFormsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly XNamespace Ec2 = "http://ec2.amazonaws.com/doc/2016-11-15/";

    [Fact]
    public async Task ImdsToken_PutWithoutBodyOrContentLength_200AndToken()
    {
        await using var cloud = await EmulatedCloud.StartAsync();

        // Byte for byte what `curl -X PUT URL -H 'X-aws-ec2-metadata-token-ttl-seconds: 60'` sends: no Content-Length,
        // no Transfer-Encoding (HttpListener answered this with 411 Length Required).
        var (status, body) = await RawAsync(cloud.Endpoint,
            $"PUT /latest/api/token HTTP/1.1\r\nHost: {cloud.Endpoint.Authority}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n" +
            "X-aws-ec2-metadata-token-ttl-seconds: 60\r\nConnection: close\r\n\r\n");

        status.Should().Be(200);
        body.Should().NotBeNullOrWhiteSpace();
    }

    [Fact]
    public async Task ImdsMetadata_GetWithTokenFromBodilessPut_200()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var put = new HttpRequestMessage(HttpMethod.Put, new Uri(cloud.Endpoint, "latest/api/token"));
        put.Headers.Add("X-aws-ec2-metadata-token-ttl-seconds", "21600");
        using var tokenResponse = await cloud.Http.SendAsync(put, Ct);
        var token = await tokenResponse.Content.ReadAsStringAsync(Ct);

        using var get = new HttpRequestMessage(HttpMethod.Get, new Uri(cloud.Endpoint, "latest/meta-data/instance-id"));
        get.Headers.Add("X-aws-ec2-metadata-token", token);
        using var response = await cloud.Http.SendAsync(get, Ct);

        tokenResponse.StatusCode.Should().Be(HttpStatusCode.OK);
        tokenResponse.Headers.GetValues("X-aws-ec2-metadata-token-ttl-seconds").Should().Equal("21600");
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        (await response.Content.ReadAsStringAsync(Ct)).Should().Be(cloud.Cluster.Nodes[0].InstanceId);
    }

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized)]
    [InlineData("not-a-token", HttpStatusCode.Unauthorized)]
    public async Task ImdsMetadata_GetWithoutValidToken_401AsImdsV2Required(string? token, HttpStatusCode expected)
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var get = new HttpRequestMessage(HttpMethod.Get, new Uri(cloud.Endpoint, "latest/meta-data/instance-id"));
        if (token is not null)
        {
            get.Headers.Add("X-aws-ec2-metadata-token", token);
        }

        using var response = await cloud.Http.SendAsync(get, Ct);

        response.StatusCode.Should().Be(expected);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("0")]
    [InlineData("21601")]
    [InlineData("sixty")]
    public async Task ImdsToken_BadTtl_400(string? ttl)
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var put = new HttpRequestMessage(HttpMethod.Put, new Uri(cloud.Endpoint, "latest/api/token"));
        if (ttl is not null)
        {
            put.Headers.Add("X-aws-ec2-metadata-token-ttl-seconds", ttl);
        }

        using var response = await cloud.Http.SendAsync(put, Ct);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Ec2_FormPostDescribeInstances_200WithTheInstance()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var form = new FormUrlEncodedContent([new("Action", "DescribeInstances"), new("Version", "2016-11-15")]);

        using var response = await cloud.Http.PostAsync(cloud.Endpoint, form, Ct);
        var xml = XDocument.Parse(await response.Content.ReadAsStringAsync(Ct));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        xml.Root!.Name.Should().Be(Ec2 + "DescribeInstancesResponse");
        InstanceIds(xml).Should().Equal(cloud.Cluster.Nodes[0].InstanceId);
    }

    [Fact]
    public async Task Ec2_GetWithQueryString_200LikeThePost()
    {
        await using var cloud = await EmulatedCloud.StartAsync();

        using var response = await cloud.Http.GetAsync(new Uri(cloud.Endpoint, "?Action=DescribeSubnets&Version=2016-11-15"), Ct);
        var xml = XDocument.Parse(await response.Content.ReadAsStringAsync(Ct));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        xml.Descendants(Ec2 + "subnetId").Select(e => e.Value).Should().Equal(cloud.Cluster.Subnet.SubnetId);
    }

    [Fact]
    public async Task Ec2_PostWithActionInQueryAndParametersInBody_MergesBoth()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        var instance = cloud.Cluster.Nodes[0].InstanceId;
        using var form = new FormUrlEncodedContent([new("InstanceId.1", instance)]);

        using var response = await cloud.Http.PostAsync(new Uri(cloud.Endpoint, "?Action=DescribeInstances&Version=2016-11-15"), form, Ct);
        var xml = XDocument.Parse(await response.Content.ReadAsStringAsync(Ct));

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        InstanceIds(xml).Should().Equal(instance);
    }

    [Theory]
    [InlineData("GET", "?Version=2016-11-15", "MissingAction")]
    [InlineData("GET", "?Action=RunInstances&Version=2016-11-15", "InvalidAction")]
    [InlineData("GET", "?Action=DescribeInstances&InstanceId.x=i-1", "InvalidParameterValue")]
    [InlineData("GET", "?Action=DeleteNetworkInterface", "MissingParameter")]
    [InlineData("GET", "", "MissingAction")]
    [InlineData("POST", "", "MissingAction")]
    [InlineData("DELETE", "?Action=DescribeInstances", "InvalidAction")]
    public async Task Ec2_MalformedRequest_400WithEc2ErrorDocument(string method, string query, string code)
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(cloud.Endpoint, query));

        using var response = await cloud.Http.SendAsync(request, Ct);
        var xml = XDocument.Parse(await response.Content.ReadAsStringAsync(Ct));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        xml.Root!.Name.LocalName.Should().Be("Response");
        xml.Root.Element("Errors")!.Element("Error")!.Element("Code")!.Value.Should().Be(code);
        xml.Root.Element("RequestID").Should().NotBeNull();
    }

    [Fact]
    public async Task Ec2_BodyThatIsNotAForm_400NotA500()
    {
        await using var cloud = await EmulatedCloud.StartAsync();
        using var content = new ByteArrayContent([0xff, 0xfe, (byte)'%', (byte)'%', (byte)'=', 0x00, (byte)'&', (byte)'=']);
        content.Headers.ContentType = new("application/x-www-form-urlencoded");

        using var response = await cloud.Http.PostAsync(cloud.Endpoint, content, Ct);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        XDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).Root!.Name.LocalName.Should().Be("Response");
    }

    [Fact]
    public async Task Curl_DocumentedCommands_AnsweredAsAws()
    {
        const string Curl = "/usr/bin/curl";
        if (!File.Exists(Curl))
        {
            Assert.Skip("curl is not installed");
        }

        await using var cloud = await EmulatedCloud.StartAsync();
        var url = cloud.Endpoint.ToString();

        var (tokenExit, token) = await RunAsync(Curl, "-sS", "--fail", "-X", "PUT", url + "latest/api/token", "-H", "X-aws-ec2-metadata-token-ttl-seconds: 60");
        var (idExit, id) = await RunAsync(Curl, "-sS", "--fail", "-H", "X-aws-ec2-metadata-token: " + token, url + "latest/meta-data/instance-id");
        var (ec2Exit, xml) = await RunAsync(Curl, "-sS", "--fail", "-d", "Action=DescribeInstances&Version=2016-11-15", url);
        var (badExit, error) = await RunAsync(Curl, "-sS", "-w", "\n%{http_code}", "-d", "Action=NoSuchAction&Version=2016-11-15", url);

        tokenExit.Should().Be(0, "the bodiless PUT gets 200 (curl --fail exits 22 on an HTTP error)");
        token.Should().NotBeNullOrWhiteSpace();
        idExit.Should().Be(0);
        id.Should().Be(cloud.Cluster.Nodes[0].InstanceId);
        ec2Exit.Should().Be(0);
        InstanceIds(XDocument.Parse(xml)).Should().Equal(cloud.Cluster.Nodes[0].InstanceId);
        badExit.Should().Be(0);
        error.Should().Contain("<Code>InvalidAction</Code>").And.EndWith("\n400");
    }

    /// <summary>DescribeInstances' instances (an ENI's attachment names its instance too).</summary>
    private static IEnumerable<string> InstanceIds(XDocument xml) =>
        xml.Descendants(Ec2 + "instancesSet").Elements(Ec2 + "item").Elements(Ec2 + "instanceId").Select(e => e.Value);

    private static async Task<(int Status, string Body)> RawAsync(Uri endpoint, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(endpoint.Host, endpoint.Port, Ct);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), Ct);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var text = await reader.ReadToEndAsync(Ct).WaitAsync(TimeSpan.FromSeconds(10), Ct);
        var statusLine = text[..text.IndexOf("\r\n", StringComparison.Ordinal)];
        var body = text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        return (int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), body);
    }

    private static async Task<(int ExitCode, string Stdout)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["no_proxy"] = "*"; // loopback only, never through a proxy
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        return (process.ExitCode, await stdout);
    }
}
