namespace VpcCni.Ipam.Tests;

public sealed class IpamOptionsValidatorTests
{
    [Theory]
    [InlineData("WARM_ENI_TARGET")]
    [InlineData("WARM_IP_TARGET")]
    [InlineData("MINIMUM_IP_TARGET")]
    [InlineData("WARM_PREFIX_TARGET")]
    public void Validate_NegativeTarget_FailsNamingVariable(string variable)
    {
        var o = new IpamOptions();
        switch (variable)
        {
            case "WARM_ENI_TARGET": o.WarmEniTarget = -1; break;
            case "WARM_IP_TARGET": o.WarmIpTarget = -1; break;
            case "MINIMUM_IP_TARGET": o.MinimumIpTarget = -2; break;
            default: o.WarmPrefixTarget = -1; break;
        }

        var result = new IpamOptionsValidator().Validate(null, o);
        result.Failed.Should().BeTrue();
        result.FailureMessage.Should().Contain(variable);
    }

    [Fact]
    public void Validate_NegativeEniCapOrUnknownLoopMode_Fails()
    {
        var validator = new IpamOptionsValidator();

        validator.Validate(null, new IpamOptions { MaxEniCreatesPerRound = -1 }).FailureMessage.Should().Contain("max ENI creations per round");
        validator.Validate(null, new IpamOptions { PoolLoop = (PoolLoopMode)7 }).FailureMessage.Should().Contain("pool loop mode");
        validator.Validate(null, new IpamOptions { PoolPolicy = PoolPolicyKind.Burst, PoolLoop = PoolLoopMode.FixedInterval, MaxEniCreatesPerRound = 1 }).Succeeded.Should().BeTrue();
    }

    [Fact]
    public void Validate_PrefixDelegationWithEveryTargetZero_FailsAsContradictory()
    {
        var result = new IpamOptionsValidator().Validate(null, new IpamOptions { EnablePrefixDelegation = true });
        result.Failed.Should().BeTrue();
        result.FailureMessage.Should().Contain("ENABLE_PREFIX_DELEGATION").And.Contain("WARM_PREFIX_TARGET");
    }

    [Fact]
    public void Validate_MaxEniZeroOrCooldownNegative_Fails()
    {
        var result = new IpamOptionsValidator().Validate(null, new IpamOptions { MaxEni = 0, IpCooldownPeriod = TimeSpan.FromSeconds(-1) });
        result.FailureMessage.Should().Contain("MAX_ENI").And.Contain("IP_COOLDOWN_PERIOD");
    }

    [Fact]
    public void Validate_Defaults_Succeed()
    {
        new IpamOptionsValidator().Validate(null, new IpamOptions()).Succeeded.Should().BeTrue();
        new IpamOptionsValidator().Validate(null, new IpamOptions { EnablePrefixDelegation = true, WarmPrefixTarget = 1 }).Succeeded.Should().BeTrue();
    }
}
