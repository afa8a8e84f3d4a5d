using VpcCni.Configuration;
using VpcCni.Hosting.Daemon;

namespace VpcCni.Hosting.Tests.Daemon;

public sealed class DaemonSettingsFleetScheduleTests
{
    private static DaemonSettings Read(string? value) =>
        DaemonSettings.FromEnvironment(EnvironmentReader.From(value is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["VPC_CNI_EC2_FLEET_SCHEDULE"] = value }));

    [Fact]
    public void FromEnvironment_FleetScheduleUnset_On()
    {
        Read(null).Ec2FleetSchedule.Should().BeTrue();
    }

    [Theory]
    [InlineData("false")]
    [InlineData("0")]
    public void FromEnvironment_FleetScheduleFalse_Off(string value)
    {
        Read(value).Ec2FleetSchedule.Should().BeFalse();
    }

    [Fact]
    public void FromEnvironment_FleetScheduleTrue_On()
    {
        Read("true").Ec2FleetSchedule.Should().BeTrue();
    }

    [Fact]
    public void FromEnvironment_FleetScheduleNotABoolean_ErrorNamesVariable()
    {
        var act = () => Read("sometimes");

        act.Should().Throw<InvalidSettingException>().Where(e => e.Name == "VPC_CNI_EC2_FLEET_SCHEDULE").WithMessage("*VPC_CNI_EC2_FLEET_SCHEDULE*");
    }
}
