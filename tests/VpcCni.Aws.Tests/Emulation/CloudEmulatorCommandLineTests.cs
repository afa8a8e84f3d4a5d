using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using VpcCni.CloudEmulator;

namespace VpcCni.Aws.Tests.Emulation;

/// <summary>vpc-cni-cloud's fault and latency flags: parsed in process, and the program run as a process.</summary>
public partial class CloudEmulatorCommandLineTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("250", 250)]
    [InlineData("250ms", 250)]
    [InlineData("1.5s", 1500)]
    [InlineData("2m", 120_000)]
    [InlineData("0", 0)]
    public void Parse_Ec2Latency_MillisecondsOrDuration(string value, int expectedMs)
    {
        var parsed = CloudEmulatorArguments.Parse(["--ec2-latency", value], out var error);

        error.Should().BeNull();
        parsed!.Ec2Latency.Should().Be(TimeSpan.FromMilliseconds(expectedMs));
    }

    [Fact]
    public void Parse_Rates_Kept()
    {
        var parsed = CloudEmulatorArguments.Parse(["--fault-rate", "0.05", "--throttle-rate", "1", "--listen", "127.0.0.1:0"], out _);

        parsed.Should().BeEquivalentTo(new CloudEmulatorArguments { FaultRate = 0.05, ThrottleRate = 1, Listen = "127.0.0.1:0" });
    }

    [Theory]
    [InlineData("--ec2-latency", "abc")]
    [InlineData("--ec2-latency", "-5")]
    [InlineData("--ec2-latency", "11m")]
    [InlineData("--ec2-latency", "ms")]
    [InlineData("--ec2-latency", "NaN")]
    [InlineData("--fault-rate", "1.5")]
    [InlineData("--fault-rate", "-0.1")]
    [InlineData("--fault-rate", "NaN")]
    [InlineData("--throttle-rate", "half")]
    [InlineData("--throttle-rate", "1,5")]
    [InlineData("--nodes", "0")]
    [InlineData("--subnet-size", "30")]
    public void Parse_BadValue_ErrorNamesTheFlag(string flag, string value)
    {
        var parsed = CloudEmulatorArguments.Parse([flag, value], out var error);

        parsed.Should().BeNull();
        error.Should().Contain(flag).And.Contain(value);
    }

    [Theory]
    [InlineData("--fault-rate")]
    [InlineData("--ec2-latency")]
    public void Parse_FlagWithoutValue_ErrorNamesTheFlag(string flag)
    {
        CloudEmulatorArguments.Parse([flag], out var error).Should().BeNull();

        error.Should().StartWith(flag);
    }

    [Theory]
    [InlineData("--fault-rate", "2")]
    [InlineData("--throttle-rate", "x")]
    [InlineData("--ec2-latency", "soon")]
    public async Task Program_BadValue_ExitCode2NamingTheFlag(string flag, string value)
    {
        using var process = StartCloud("--listen", "127.0.0.1:0", flag, value);
        var stderr = process.StandardError.ReadToEndAsync(Ct);

        await process.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        process.ExitCode.Should().Be(2);
        (await stderr).Should().Contain(flag);
    }

    [Theory]
    [InlineData("--throttle-rate", 503, "RequestLimitExceeded")]
    [InlineData("--fault-rate", 500, "InternalError")]
    public async Task Program_RateOfOne_EveryEc2CallFailsWithThatError(string flag, int status, string code)
    {
        await using var cloud = await RunningCloud.StartAsync("--listen", "127.0.0.1:0", flag, "1");
        using var form = new FormUrlEncodedContent([new("Action", "DescribeInstances"), new("Version", "2016-11-15")]);

        using var response = await cloud.Http.PostAsync(cloud.Endpoint, form, Ct);
        var xml = XDocument.Parse(await response.Content.ReadAsStringAsync(Ct));

        ((int)response.StatusCode).Should().Be(status);
        xml.Root!.Element("Errors")!.Element("Error")!.Element("Code")!.Value.Should().Be(code);
    }

    [Fact]
    public async Task Program_Ec2Latency_DelaysEc2ButNotImds()
    {
        await using var cloud = await RunningCloud.StartAsync("--listen", "127.0.0.1:0", "--ec2-latency", "400ms");
        await WarmUpAsync(cloud); // the first requests JIT the server's code: slow whatever the latency
        using var put = new HttpRequestMessage(HttpMethod.Put, new Uri(cloud.Endpoint, "latest/api/token"));
        put.Headers.Add("X-aws-ec2-metadata-token-ttl-seconds", "60");
        using var form = new FormUrlEncodedContent([new("Action", "DescribeSubnets"), new("Version", "2016-11-15")]);

        var imdsClock = Stopwatch.StartNew();
        using var token = await cloud.Http.SendAsync(put, Ct);
        var imdsTime = imdsClock.Elapsed;
        var ec2Clock = Stopwatch.StartNew();
        using var response = await cloud.Http.PostAsync(cloud.Endpoint, form, Ct);
        var ec2Time = ec2Clock.Elapsed;

        token.StatusCode.Should().Be(HttpStatusCode.OK);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        ec2Time.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(390));
        imdsTime.Should().BeLessThan(TimeSpan.FromMilliseconds(390));
    }

    private static async Task WarmUpAsync(RunningCloud cloud)
    {
        using var put = new HttpRequestMessage(HttpMethod.Put, new Uri(cloud.Endpoint, "latest/api/token"));
        put.Headers.Add("X-aws-ec2-metadata-token-ttl-seconds", "60");
        using var token = await cloud.Http.SendAsync(put, Ct);
        using var form = new FormUrlEncodedContent([new("Action", "DescribeSubnets"), new("Version", "2016-11-15")]);
        using var ec2 = await cloud.Http.PostAsync(cloud.Endpoint, form, Ct);
    }

    [Fact]
    public async Task Program_NoFaultFlags_Answers()
    {
        await using var cloud = await RunningCloud.StartAsync("--listen", "127.0.0.1:0");

        using var response = await cloud.Http.GetAsync(new Uri(cloud.Endpoint, "?Action=DescribeInstances&Version=2016-11-15"), Ct);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Program_Sigterm_ExitsWithZero()
    {
        var cloud = await RunningCloud.StartAsync("--listen", "127.0.0.1:0");
        await using (cloud)
        {
            // The server must leave SIGTERM to the program (Kestrel's default host lifetime would swallow it).
            using var kill = Process.Start("kill", ["-TERM", cloud.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync(Ct);

            var exited = await cloud.WaitForExitAsync(TimeSpan.FromSeconds(15));

            exited.Should().Be(0);
        }
    }

    /// <summary>vpc-cni-cloud.dll, copied next to this test assembly by the project reference.</summary>
    private static Process StartCloud(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "vpc-cni-cloud.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        return Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
    }

    [GeneratedRegex(@"^EC2 Query API: (http://\S+/)")]
    private static partial Regex EndpointLine();

    private sealed class RunningCloud : IAsyncDisposable
    {
        private readonly Process _process;

        private RunningCloud(Process process, Uri endpoint)
        {
            _process = process;
            Endpoint = endpoint;
        }

        public Uri Endpoint { get; }

        public HttpClient Http { get; } = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };

        public static async Task<RunningCloud> StartAsync(params string[] args)
        {
            var process = StartCloud(args);
            try
            {
                // The first line names the bound endpoint (--listen 127.0.0.1:0 takes a free port).
                var line = await process.StandardOutput.ReadLineAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(60), Ct);
                var match = EndpointLine().Match(line ?? "");
                if (!match.Success)
                {
                    throw new InvalidOperationException($"vpc-cni-cloud printed '{line}'; stderr: {await process.StandardError.ReadToEndAsync(Ct)}");
                }

                return new RunningCloud(process, new Uri(match.Groups[1].Value));
            }
            catch
            {
                process.Kill();
                process.Dispose();
                throw;
            }
        }

        public int ProcessId => _process.Id;

        /// <summary>The exit code, or null when the process is still running after <paramref name="timeout"/>.</summary>
        public async Task<int?> WaitForExitAsync(TimeSpan timeout)
        {
            try
            {
                await _process.WaitForExitAsync(Ct).WaitAsync(timeout, Ct);
                return _process.ExitCode;
            }
            catch (TimeoutException)
            {
                return null;
            }
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync(CancellationToken.None);
            }

            _process.Dispose();
        }
    }
}
