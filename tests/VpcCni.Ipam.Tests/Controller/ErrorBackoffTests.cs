using Microsoft.Extensions.Time.Testing;
using VpcCni.Cloud;

namespace VpcCni.Ipam.Tests.Controller;

public sealed class ErrorBackoffTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Theory]
    [InlineData(CloudErrorKind.SubnetFull)]
    [InlineData(CloudErrorKind.NoFreePrefix)]
    public void NoteFailure_InsufficientCapacity_StartsTheGrowthBackoff(CloudErrorKind kind)
    {
        var backoff = new ErrorBackoff(_time);
        backoff.NoteFailure(kind);
        backoff.LastInsufficientCapacity.Should().Be(_time.GetUtcNow());
        backoff.LastError.Should().Be(kind);
    }

    [Fact]
    public void NoteFailure_InvalidConfiguration_StartsTheGrowthBackoffAndExplainsIt()
    {
        var backoff = new ErrorBackoff(_time);
        backoff.NoteFailure(CloudErrorKind.InvalidConfiguration);
        backoff.LastInsufficientCapacity.Should().Be(_time.GetUtcNow(), "a configuration error is not retried every pool interval");
        var (reason, detail) = backoff.ExplainNoAddress(TimeSpan.FromSeconds(1));
        reason.Should().Be(AssignFailureReason.CloudError);
        detail.Should().Contain("InvalidConfiguration").And.Contain("subnet");
    }

    [Fact]
    public void NoteFailure_Throttled_DoesNotStartTheCapacityBackoff()
    {
        var backoff = new ErrorBackoff(_time);
        backoff.NoteFailure(CloudErrorKind.Throttled);
        backoff.LastInsufficientCapacity.Should().BeNull();
        backoff.ExplainNoAddress(TimeSpan.FromSeconds(1)).Reason.Should().Be(AssignFailureReason.Throttled);
    }

    [Fact]
    public void FailedSince_FailureBeforeTheWaitStarted_IsFalse()
    {
        var backoff = new ErrorBackoff(_time);
        backoff.NoteFailure(CloudErrorKind.Transient);
        var waitStart = _time.GetUtcNow() + TimeSpan.FromSeconds(1);
        backoff.FailedSince(waitStart).Should().BeFalse();
        _time.Advance(TimeSpan.FromSeconds(1));
        backoff.NoteFailure(CloudErrorKind.Transient);
        backoff.FailedSince(waitStart).Should().BeTrue();
    }

    [Fact]
    public void NoteSuccess_AfterFailure_ExplainsAsStillGrowingButKeepsTheBackoff()
    {
        var backoff = new ErrorBackoff(_time);
        backoff.NoteFailure(CloudErrorKind.SubnetFull);
        backoff.NoteSuccess();
        backoff.LastError.Should().BeNull();
        backoff.LastInsufficientCapacity.Should().NotBeNull("the policy's backoff window runs from the failure");
        var (reason, detail) = backoff.ExplainNoAddress(TimeSpan.FromSeconds(2.5));
        reason.Should().Be(AssignFailureReason.StillGrowing);
        detail.Should().Contain("2.5 s");
    }
}
