using VpcCni.Aws.Limits;
using VpcCni.Cloud;

namespace VpcCni.Ipam.Tests.Planning;

public sealed class MaxPodsCalculatorTests
{

    [Theory]
    // Values from upstream's misc/eni-max-pods.txt.
    [InlineData("t3.small", 11)]
    [InlineData("m5.large", 29)]
    [InlineData("m5.xlarge", 58)]
    [InlineData("m5.4xlarge", 234)]
    [InlineData("p3dn.24xlarge", 737)]
    [InlineData("t3.nano", 4)]
    public void SecondaryIp_MatchesUpstreamEniMaxPods(string type, int expected)
    {
        MaxPodsCalculator.SecondaryIp(InstanceLimitsCatalog.Get(type)).Should().Be(expected);
        MaxPodsCalculator.Calculate(InstanceLimitsCatalog.Get(type), new MaxPodsOptions()).Should().Be(expected);
    }

    [Fact]
    public void Calculate_PrefixDelegation_UsesSixteenPerPrefixAndTheCpuCeiling()
    {
        var m5Large = new InstanceLimits("m5.large", 3, 10);
        MaxPodsCalculator.Calculate(m5Large, new MaxPodsOptions(PrefixDelegation: true)).Should().Be(3 * 9 * 16 + 2);
        MaxPodsCalculator.Calculate(m5Large, new MaxPodsOptions(PrefixDelegation: true, VCpus: 2)).Should().Be(110);
        MaxPodsCalculator.Calculate(m5Large with { VCpus = 48 }, new MaxPodsOptions(PrefixDelegation: true)).Should().Be(250);
    }

    [Theory]
    [InlineData(false, false, 11, 9)]
    [InlineData(true, false, 146, 144)]
    [InlineData(false, true, 8, 6)]
    [InlineData(true, true, 98, 96)]
    public void Default_EachMode_IsThatModesFigureAndCapacityIsTwoLess(bool pd, bool customNetworking, int maxPods, int capacity)
    {
        var t3Small = InstanceLimitsCatalog.Get("t3.small");
        MaxPodsCalculator.Default(t3Small, pd, customNetworking).Should().Be(maxPods);
        MaxPodsCalculator.AddressCapacity(t3Small, new MaxPodsOptions(pd, customNetworking)).Should().Be(capacity);
    }

    [Fact]
    public void Calculate_PrefixDelegationOnXen_FallsBackToSecondaryIp()
    {
        var xen = new InstanceLimits("m4.large", 2, 10) { Hypervisor = "xen" };
        MaxPodsCalculator.Calculate(xen, new MaxPodsOptions(PrefixDelegation: true)).Should().Be(20);
    }

    [Fact]
    public void Calculate_CustomNetworkingAndMaxEni_ReduceEnis()
    {
        var m5Large = new InstanceLimits("m5.large", 3, 10);
        MaxPodsCalculator.Calculate(m5Large, new MaxPodsOptions(CustomNetworking: true)).Should().Be(2 * 9 + 2);
        MaxPodsCalculator.Calculate(m5Large, new MaxPodsOptions(MaxEni: 2)).Should().Be(2 * 9 + 2);
        MaxPodsCalculator.Calculate(m5Large, new MaxPodsOptions(MaxEni: 9)).Should().Be(29);
        MaxPodsCalculator.Calculate(m5Large, new MaxPodsOptions(CustomNetworking: true, VCpus: 2)).Should().Be(20);
    }

    [Fact]
    public void Table_AllTypes_ParseAndUnknownTypeIsNamed()
    {
        // The one table (VpcCni.Aws, generated from the CSV) serves the engine's tests too.
        InstanceLimitsCatalog.Count.Should().BeGreaterThan(1000);
        var act = () => InstanceLimitsCatalog.Get("m99.huge");
        act.Should().Throw<CloudException>().WithMessage("*m99.huge*");
    }
}
