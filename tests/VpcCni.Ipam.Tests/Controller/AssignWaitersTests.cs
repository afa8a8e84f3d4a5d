using System.Net;
using Microsoft.Extensions.Time.Testing;

namespace VpcCni.Ipam.Tests.Controller;

public sealed class AssignWaitersTests
{
    private static readonly AssignOutcome NoAddress = new(AssignStatus.NoFreeAddress, default, -1, -1, null);
    private static readonly AssignOutcome Got = new(AssignStatus.Assigned, PodAddress.From(IPAddress.Parse("10.0.0.5")), 0, 254, "eni-a");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public async Task WaitAsync_PoolGrowsWhileWaiting_ReturnsTheAddressAtTheSignal()
    {
        var waiters = new AssignWaiters(_time, inlineSignals: true);
        var growth = new Growth { LoopRunning = true, InFlight = true };
        var grown = false;
        var pending = waiters.WaitAsync(() => grown ? Got : NoAddress, growth, TimeSpan.FromSeconds(10), CancellationToken.None).AsTask();

        pending.IsCompleted.Should().BeFalse();
        waiters.Count.Should().Be(1);
        growth.Wakes.Should().Be(1, "a waiter wakes the pool loop");

        grown = true;
        waiters.SignalPoolChanged();

        pending.IsCompleted.Should().BeTrue("the grow's signal re-runs the waiter, no time passes");
        (await pending).Should().Be(Got);
        waiters.Count.Should().Be(0);
    }

    [Fact]
    public async Task WaitAsync_SignalsWithoutAddressThenTimeout_CountedOnceAndReturnsNoAddress()
    {
        var waiters = new AssignWaiters(_time, inlineSignals: true);
        var growth = new Growth { LoopRunning = true, InFlight = true };
        var pending = waiters.WaitAsync(() => NoAddress, growth, TimeSpan.FromSeconds(3), CancellationToken.None).AsTask();

        waiters.SignalPoolChanged();
        waiters.SignalPoolChanged();
        waiters.Count.Should().Be(1, "re-checks do not count the waiter again");
        _time.Advance(TimeSpan.FromSeconds(2));
        pending.IsCompleted.Should().BeFalse();

        _time.Advance(TimeSpan.FromSeconds(1));
        pending.IsCompleted.Should().BeTrue();
        (await pending).Status.Should().Be(AssignStatus.NoFreeAddress);
        waiters.Count.Should().Be(0);
    }

    [Fact]
    public async Task WaitAsync_NothingInFlightAndCannotGrow_FailsAtOnce()
    {
        var waiters = new AssignWaiters(_time, inlineSignals: true);
        var growth = new Growth { LoopRunning = true, InFlight = false, Blocked = true };

        var outcome = await waiters.WaitAsync(() => NoAddress, growth, TimeSpan.FromSeconds(10), CancellationToken.None);

        outcome.Status.Should().Be(AssignStatus.NoFreeAddress);
        growth.Wakes.Should().Be(0);
        waiters.Count.Should().Be(0);
    }

    [Fact]
    public async Task WaitAsync_NoLoopAndARoundThatChangesNothing_RunsOneRoundThenGivesUp()
    {
        var waiters = new AssignWaiters(_time, inlineSignals: true);
        var growth = new Growth { LoopRunning = false, InFlight = false };

        var outcome = await waiters.WaitAsync(() => NoAddress, growth, TimeSpan.FromSeconds(10), CancellationToken.None);

        outcome.Status.Should().Be(AssignStatus.NoFreeAddress);
        growth.Rounds.Should().Be(1);
    }

    [Fact]
    public async Task WaitAsync_Cancelled_ThrowsAndLeavesNoWaiter()
    {
        var waiters = new AssignWaiters(_time, inlineSignals: true);
        var growth = new Growth { LoopRunning = true, InFlight = true };
        using var cts = new CancellationTokenSource();
        var pending = waiters.WaitAsync(() => NoAddress, growth, TimeSpan.FromSeconds(10), cts.Token).AsTask();

        await cts.CancelAsync();

        await pending.Invoking(p => p).Should().ThrowAsync<OperationCanceledException>();
        waiters.Count.Should().Be(0);
    }

    private sealed class Growth : IPoolGrowth
    {
        public bool LoopRunning { get; init; }

        public bool InFlight { get; init; }

        public bool Blocked { get; init; }

        public long CloudMutations { get; private set; }

        public int Wakes { get; private set; }

        public int Rounds { get; private set; }

        public bool CannotGrow(DateTimeOffset waitStart) => Blocked;

        public void WakeLoop() => Wakes++;

        public Task RunPoolRoundAsync(CancellationToken cancellationToken)
        {
            Rounds++;
            return Task.CompletedTask;
        }
    }
}
