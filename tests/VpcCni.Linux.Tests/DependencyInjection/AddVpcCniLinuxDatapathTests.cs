using FluentAssertions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VpcCni.Linux.Pods;
using VpcCni.Linux.Snat;

namespace VpcCni.Linux.Tests.DependencyInjection;

public sealed class AddVpcCniLinuxDatapathTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("toolong")]
    [InlineData("")]
    public void AddVpcCniLinuxDatapath_InvalidVethPrefix_FailsNamingTheVariable(string prefix)
    {
        using var provider = new ServiceCollection().AddVpcCniLinuxDatapath(o => o.VethPrefix = prefix).BuildServiceProvider();

        var options = () => provider.GetRequiredService<IOptions<LinuxDatapathOptions>>().Value;

        options.Should().Throw<OptionsValidationException>().WithMessage("*AWS_VPC_K8S_CNI_VETHPREFIX*");
    }

    [Fact]
    public void AddVpcCniLinuxDatapath_FromConfiguration_ReadsUpstreamKeys()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AWS_VPC_K8S_CNI_VETHPREFIX"] = "abc",
            ["VPC_CNI_NETFILTER_BACKEND"] = "nftables",
        }).Build();
        using var provider = new ServiceCollection().AddVpcCniLinuxDatapath(configuration).BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<LinuxDatapathOptions>>().Value;

        options.VethPrefix.Should().Be("abc");
        options.NetfilterBackend.Should().Be(ConnmarkBackend.Nftables);
    }

    [Fact]
    public async Task AddVpcCniLinuxDatapath_Reaper_KeepsToTheConfiguredPrefix()
    {
        using var provider = new ServiceCollection().AddVpcCniLinuxDatapath(o => o.VethPrefix = "abc").BuildServiceProvider();

        var reaper = provider.GetRequiredService<HostVethReaper>();
        // Refused on the name alone: nothing in this namespace is looked at or touched.
        var result = await reaper.RemoveAsync(5, "eni0123456789a", callerNamespace: null, Ct);

        result.Outcome.Should().Be(HostVethReapOutcome.Refused);
        result.Reason.Should().Contain("prefix 'abc'");
    }

    [Fact]
    public void AddVpcCniLinuxDatapath_EmbedderServiceRegisteredFirst_Wins()
    {
        using var own = new HostVethReaper(new HostVethReaperOptions { VethPrefix = "own" });
        using var provider = new ServiceCollection().AddSingleton(own).AddVpcCniLinuxDatapath().BuildServiceProvider();

        provider.GetRequiredService<HostVethReaper>().Should().BeSameAs(own);
    }
}
