using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VpcCni.Aws.Ec2;
using VpcCni.Aws.Imds;
using VpcCni.Aws.Simulation;
using VpcCni.Cloud;

namespace VpcCni.Aws.Tests.DependencyInjection;

public sealed class AddVpcCniAwsTests
{
    private static readonly Dictionary<string, string?> Offline = new()
    {
        ["AWS_REGION"] = "us-west-2", ["AWS_ENDPOINT_URL_EC2"] = "http://127.0.0.1:9/", ["AWS_EC2_METADATA_DISABLED"] = "true",
        ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:9/", ["AWS_ACCESS_KEY_ID"] = "x", ["AWS_SECRET_ACCESS_KEY"] = "y",
    };

    [Fact]
    public void AddVpcCniAws_InvalidClusterNameFromConfigure_FailsValidationNamingTheVariable()
    {
        using var provider = new ServiceCollection().AddVpcCniAws(o => o.ClusterName = "has spaces", k => Offline.GetValueOrDefault(k)).BuildServiceProvider();

        var options = () => provider.GetRequiredService<IOptions<Ec2ProviderOptions>>().Value;

        options.Should().Throw<OptionsValidationException>().WithMessage("*CLUSTER_NAME*");
    }

    [Fact]
    public void AddVpcCniAws_FromConfiguration_BindsUpstreamKeysAndBuildsTheEc2Provider()
    {
        var values = new Dictionary<string, string?>(Offline) { ["CLUSTER_NAME"] = "prod", ["ADDITIONAL_ENI_TAGS"] = "{\"team\":\"net\"}" };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        using var provider = new ServiceCollection().AddVpcCniAws(configuration).BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<Ec2ProviderOptions>>().Value;
        var imds = provider.GetRequiredService<IOptions<ImdsOptions>>().Value;

        options.ClusterName.Should().Be("prod");
        options.AdditionalEniTags.Should().Contain("team", "net");
        options.Region.Should().Be("us-west-2");
        imds.Endpoint.Should().Be(new Uri("http://127.0.0.1:9/"));
        provider.GetRequiredService<IEniProvider>().Should().BeOfType<OwnedEc2EniProvider>();
    }

    [Fact]
    public async Task LeakedEniCleanup_AnotherCloudPortRegisteredFirst_DoesNothing()
    {
        var cluster = SimulatedCluster.Create("m5.large");
        using var provider = new ServiceCollection()
            .AddSingleton<IEniProvider>(new SimulatedEniProvider(cluster.Vpc, cluster.Nodes[0].InstanceId))
            .AddVpcCniAws(variables: k => Offline.GetValueOrDefault(k))
            .BuildServiceProvider();
        var cleanup = provider.GetRequiredService<LeakedEniCleanup>();

        (await cleanup.DeleteOwnLeftoversAsync(TestContext.Current.CancellationToken)).Should().BeEmpty();
        cleanup.StartHourlySweep(CancellationToken.None).Should().BeNull();
    }

    [Fact]
    public void AddVpcCniSimulatedCloud_Configure_BuildsThatInstanceType()
    {
        using var provider = new ServiceCollection().AddVpcCniSimulatedCloud(o => o.InstanceType = "t3.small").BuildServiceProvider();

        var cluster = provider.GetRequiredService<SimulatedCluster>();

        cluster.Vpc.GetInstanceView(cluster.Nodes[0].InstanceId).InstanceType.Should().Be("t3.small");
    }
}
