using Microsoft.Extensions.DependencyInjection;
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
    public void AddVpcCniAws_NoRegion_FailsNamingAwsRegion()
    {
        var env = new Dictionary<string, string> { ["AWS_EC2_METADATA_DISABLED"] = "true", ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:9/" };
        using var provider = Build(s => s.AddVpcCniAws(variables: k => env.GetValueOrDefault(k)).AddVpcCniIpam());

        var act = () => provider.GetRequiredService<IEniProvider>();

        act.Should().Throw<InvalidSettingException>().WithMessage("*AWS_REGION*");
    }

    [Fact]
    public void AddVpcCniAws_WithRegionAndEndpoints_BuildsTheEc2Provider()
    {
        var env = new Dictionary<string, string>
        {
            ["AWS_REGION"] = "us-west-2", ["AWS_ENDPOINT_URL_EC2"] = "http://127.0.0.1:9/", ["AWS_EC2_METADATA_DISABLED"] = "true",
            ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:9/", ["AWS_ACCESS_KEY_ID"] = "x", ["AWS_SECRET_ACCESS_KEY"] = "y",
        };
        using var provider = Build(s => s.AddVpcCniAws(variables: k => env.GetValueOrDefault(k)).AddVpcCniIpam());

        provider.GetRequiredService<IEniProvider>().Should().BeOfType<VpcCni.Aws.Ec2.Ec2EniProvider>();
    }

    [Fact]
    public void AddVpcCniSimulatedCloud_UnknownType_NamesIt()
    {
        var act = () => new ServiceCollection().AddVpcCniSimulatedCloud("m9.nope");
        act.Should().Throw<ArgumentException>().WithMessage("*m9.nope*");
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
