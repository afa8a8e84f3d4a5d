using VpcCni.Cloud;

namespace VpcCni.Tests.Cloud;

public sealed class CloudExceptionTests
{
    [Theory]
    [InlineData(CloudErrorKind.Throttled, true)]
    [InlineData(CloudErrorKind.Transient, true)]
    [InlineData(CloudErrorKind.SubnetFull, false)]
    [InlineData(CloudErrorKind.Unauthorized, false)]
    [InlineData(CloudErrorKind.InvalidConfiguration, false)]
    public void IsRetryable_ByKind_OnlyThrottledAndTransient(CloudErrorKind kind, bool expected)
    {
        new CloudException(kind, "x").IsRetryable.Should().Be(expected);
    }
}
