using System.Collections.Concurrent;
using System.Reflection;
using Xunit.v3;

namespace VpcCni.EndToEnd.Tests.Support;

/// <summary>
/// Writes a line of test output every <see cref="Interval"/> while a test runs. xUnit's VSTest adapter reports the
/// test process as crashed when it exits more than 60 s after the last message the adapter read, even with exit code 0
/// and its final messages still in the pipe; a long, silent last test (the two-node lab run takes about a minute) hits
/// that. Live output keeps the adapter's view of the process current.
/// </summary>
[AttributeUsage(AttributeTargets.Assembly)]
internal sealed class ProgressHeartbeatAttribute : BeforeAfterTestAttribute
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(15);
    private readonly ConcurrentDictionary<string, ITimer> _timers = new();

    public override void Before(MethodInfo methodUnderTest, IXunitTest test)
    {
        var output = TestContext.Current.TestOutputHelper;
        if (output is null)
        {
            return;
        }

        var started = TimeProvider.System.GetTimestamp();
        var timer = TimeProvider.System.CreateTimer(
            _ =>
            {
                try
                {
                    output.WriteLine($"[heartbeat] {test.TestDisplayName} running for {TimeProvider.System.GetElapsedTime(started).TotalSeconds:F0} s");
                }
                catch (InvalidOperationException)
                {
                    // The test ended between the tick and the write.
                }
            },
            null, Interval, Interval);
        _timers[test.UniqueID] = timer;
    }

    public override void After(MethodInfo methodUnderTest, IXunitTest test)
    {
        if (_timers.TryRemove(test.UniqueID, out var timer))
        {
            timer.Dispose();
        }
    }
}
