using VpcCni.Aws;
using VpcCni.Configuration;
using System.Net;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using VpcCni.Cloud;
using VpcCni.Hosting.Configuration;
using VpcCni.Ipam;

namespace VpcCni.Hosting.Tests.DependencyInjection;

public sealed class VpcCniServiceCollectionExtensionsTests
{
    private static ServiceProvider Build(Action<IServiceCollection> compose)
    {
        var services = new ServiceCollection();
        compose(services);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    [Fact]
    public async Task AddVpcCniIpam_OnSimulatedCloud_ComposesAWorkingEngine()
    {
        await using var provider = Build(s => s.AddVpcCniSimulatedCloud("m5.large").AddVpcCniIpam(o => o.WarmEniTarget = 1));
        provider.GetRequiredService<IStartupValidator>().Validate();
        var controller = provider.GetRequiredService<PoolController>();

        await controller.InitializeAsync(TestContext.Current.CancellationToken);
        var result = await controller.AssignAsync(new AttachmentKey("aws-cni", "c1", "eth0"), new PodMetadata("default", "p"), TestContext.Current.CancellationToken);

        result.Succeeded.Should().BeTrue(result.Detail);
        controller.Limits.MaxEnis.Should().Be(3);
    }

    [Fact]
    public void AddVpcCniIpam_InvalidOption_FailsAtStartNamingTheVariable()
    {
        using var provider = Build(s => s.AddVpcCniSimulatedCloud().AddVpcCniIpam(o => o.WarmEniTarget = -1));

        var act = () => provider.GetRequiredService<IStartupValidator>().Validate();

        act.Should().Throw<OptionsValidationException>().WithMessage("*WARM_ENI_TARGET*");
    }

    [Fact]
    public void AddVpcCniIpam_FromVariables_BindsUpstreamNamesAndRejectsBadValues()
    {
        var good = new Dictionary<string, string> { ["WARM_IP_TARGET"] = "5", ["MINIMUM_IP_TARGET"] = "12" };
        using (var provider = Build(s => s.AddVpcCniSimulatedCloud().AddVpcCniIpam(k => good.GetValueOrDefault(k))))
        {
            var options = provider.GetRequiredService<IOptions<IpamOptions>>().Value;
            options.WarmIpTarget.Should().Be(5);
            options.MinimumIpTarget.Should().Be(12);
        }

        var bad = new Dictionary<string, string> { ["WARM_IP_TARGET"] = "lots" };
        using var failing = Build(s => s.AddVpcCniSimulatedCloud().AddVpcCniIpam(k => bad.GetValueOrDefault(k)));
        var act = () => failing.GetRequiredService<IStartupValidator>().Validate();
        act.Should().Throw<InvalidSettingException>().WithMessage("*WARM_IP_TARGET*");
    }

    [Fact]
    public void AddVpcCniSimulatedCloud_EmbedderCloudRegisteredFirst_Wins()
    {
        var own = new OwnCloud();
        using var provider = Build(s => s.AddSingleton<IEniProvider>(own).AddVpcCniSimulatedCloud().AddVpcCniIpam());

        provider.GetRequiredService<IEniProvider>().Should().BeSameAs(own);
    }

    [Fact]
    public async Task AddVpcCniAws_NoRegionAndImdsCannotTell_FirstCallFailsNamingAwsRegion()
    {
        await using var imds = await LoopbackServer.StartAsync(prefix => new ImdsWithoutPlacement(prefix), s => s.Start());
        var env = new Dictionary<string, string>
        {
            ["AWS_EC2_METADATA_DISABLED"] = "true", ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.Prefix, ["AWS_ENDPOINT_URL_EC2"] = "http://127.0.0.1:9/",
            ["AWS_ACCESS_KEY_ID"] = "x", ["AWS_SECRET_ACCESS_KEY"] = "y",
        };
        await using var provider = Build(s => s.AddVpcCniAws(variables: k => env.GetValueOrDefault(k)).AddVpcCniIpam());
        var cloud = provider.GetRequiredService<IEniProvider>();

        var act = async () => await cloud.GetInstanceAsync(TestContext.Current.CancellationToken);

        (await act.Should().ThrowAsync<InvalidSettingException>()).Which.Name.Should().Be("AWS_REGION");
    }

    [Fact]
    public async Task AddVpcCniAws_WithRegionAndEndpoints_BuildsTheEc2ProviderOwnedByTheContainer()
    {
        var env = new Dictionary<string, string>
        {
            ["AWS_REGION"] = "us-west-2", ["AWS_ENDPOINT_URL_EC2"] = "http://127.0.0.1:9/", ["AWS_EC2_METADATA_DISABLED"] = "true",
            ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:9/", ["AWS_ACCESS_KEY_ID"] = "x", ["AWS_SECRET_ACCESS_KEY"] = "y",
        };
        var provider = Build(s => s.AddVpcCniAws(variables: k => env.GetValueOrDefault(k)).AddVpcCniIpam());
        var cloud = provider.GetRequiredService<IEniProvider>().Should().BeOfType<OwnedEc2EniProvider>().Subject;
        cloud.Inner.Should().BeOfType<VpcCni.Aws.Ec2.Ec2EniProvider>("with a region the EC2 client is built at once");

        await provider.DisposeAsync();
        var act = async () => await cloud.GetInstanceAsync(TestContext.Current.CancellationToken);

        await act.Should().ThrowAsync<ObjectDisposedException>("the container disposed the provider and its clients");
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("true", false)]
    public async Task AddVpcCniAws_DisableLeakedEniCleanup_DecidesWhetherTheSweepStarts(string? disable, bool starts)
    {
        var env = new Dictionary<string, string?>
        {
            ["AWS_REGION"] = "us-west-2", ["AWS_ENDPOINT_URL_EC2"] = "http://127.0.0.1:9/", ["AWS_EC2_METADATA_DISABLED"] = "true",
            ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:9/", ["AWS_ACCESS_KEY_ID"] = "x", ["AWS_SECRET_ACCESS_KEY"] = "y",
            ["DISABLE_LEAKED_ENI_CLEANUP"] = disable,
        };
        await using var provider = Build(s => s.AddVpcCniAws(variables: k => env.GetValueOrDefault(k)).AddVpcCniIpam());
        var cloud = provider.GetRequiredService<IEniProvider>().Should().BeOfType<OwnedEc2EniProvider>().Subject;
        using var stop = new CancellationTokenSource();

        var sweep = cloud.StartLeakedEniSweep(stop.Token);
        await stop.CancelAsync();

        (sweep is not null).Should().Be(starts);
        if (sweep is not null)
        {
            // Cancelled during its first jitter wait, the loop ends quietly.
            await sweep.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            sweep.IsCompletedSuccessfully.Should().BeTrue();
        }
    }

    [Fact]
    public void AddVpcCniIpam_FromConfigurationSection_AppliesUpstreamKeys()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["VpcCni:WARM_ENI_TARGET"] = "0",
            ["VpcCni:WARM_IP_TARGET"] = "5",
            ["VpcCni:MINIMUM_IP_TARGET"] = "12",
            ["VpcCni:IP_COOLDOWN_PERIOD"] = "45",
            ["VpcCni:VPC_CNI_POOL_POLICY"] = "demandaware",
            ["WARM_IP_TARGET"] = "99",
        }).Build();
        using var provider = Build(s => s.AddVpcCniSimulatedCloud().AddVpcCniIpam(configuration.GetSection("VpcCni")));
        provider.GetRequiredService<IStartupValidator>().Validate();

        var options = provider.GetRequiredService<IOptions<IpamOptions>>().Value;

        options.WarmEniTarget.Should().Be(0);
        options.WarmIpTarget.Should().Be(5, "only the given section is read");
        options.MinimumIpTarget.Should().Be(12);
        options.IpCooldownPeriod.Should().Be(TimeSpan.FromSeconds(45));
        options.PoolPolicy.Should().Be(PoolPolicyKind.DemandAware);
        options.MaxEni.Should().Be(-1, "absent keys keep upstream's defaults");
    }

    [Theory]
    [InlineData("WARM_IP_TARGET", "lots")]
    [InlineData("ENABLE_PREFIX_DELEGATION", "maybe")]
    [InlineData("IP_COOLDOWN_PERIOD", "-1")]
    public async Task AddVpcCniIpam_InvalidValueInConfiguration_HostStartFailsNamingTheKey(string key, string value)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["VpcCni:" + key] = value });
        builder.Services.AddVpcCniSimulatedCloud().AddVpcCniIpam(builder.Configuration.GetSection("VpcCni"));
        using var host = builder.Build();

        var act = () => host.StartAsync(TestContext.Current.CancellationToken);

        (await act.Should().ThrowAsync<InvalidSettingException>()).Which.Name.Should().Be(key);
    }

    [Fact]
    public async Task AddVpcCniIpam_OutOfRangeValueInConfiguration_HostStartFailsNamingTheKey()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["VpcCni:WARM_PREFIX_TARGET"] = "0", ["VpcCni:ENABLE_PREFIX_DELEGATION"] = "true", ["VpcCni:WARM_ENI_TARGET"] = "0" });
        builder.Services.AddVpcCniSimulatedCloud().AddVpcCniIpam(builder.Configuration.GetSection("VpcCni"));
        using var host = builder.Build();

        var act = () => host.StartAsync(TestContext.Current.CancellationToken);

        await act.Should().ThrowAsync<OptionsValidationException>().WithMessage("*WARM_PREFIX_TARGET*");
    }

    [Fact]
    public void AddVpcCniSimulatedCloud_UnknownType_NamesIt()
    {
        var act = () => new ServiceCollection().AddVpcCniSimulatedCloud("m9.nope");
        act.Should().Throw<ArgumentException>().WithMessage("*m9.nope*");
    }

    /// <summary>An IMDS that issues tokens but has no placement data, so it cannot name the region.</summary>
    private sealed class ImdsWithoutPlacement(string prefix) : IAsyncDisposable
    {
        private readonly HttpListener _listener = new() { Prefixes = { prefix } };
        private Task? _loop;

        public void Start()
        {
            _listener.Start();
            _loop = Task.Run(ServeAsync);
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Close();
            if (_loop is not null)
            {
                await _loop;
            }
        }

        private async Task ServeAsync()
        {
            while (true)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                var token = context.Request.HttpMethod == "PUT" && context.Request.Url!.AbsolutePath == "/latest/api/token";
                context.Response.StatusCode = token ? 200 : 404;
                var body = Encoding.UTF8.GetBytes(token ? "test-token" : "Not Found");
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
        }
    }

    private sealed class OwnCloud : IEniProvider
    {
        public ValueTask<InstanceIdentity> GetInstanceAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<InstanceLimits> GetInstanceLimitsAsync(string instanceType, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<IReadOnlyList<NetworkInterface>> DescribeInstanceEnisAsync(CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<NetworkInterface> CreateAndAttachEniAsync(EniCreateRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask<IReadOnlyList<System.Net.IPNetwork>> AssignAsync(string eniId, AddressUnit unit, int count, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask UnassignAsync(string eniId, IReadOnlyList<System.Net.IPNetwork> cidrs, CancellationToken cancellationToken) => throw new NotSupportedException();

        public ValueTask DetachAndDeleteEniAsync(string eniId, CancellationToken cancellationToken) => throw new NotSupportedException();
    }
}
