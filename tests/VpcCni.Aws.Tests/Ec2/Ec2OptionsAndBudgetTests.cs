using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using VpcCni.Aws.Ec2;
using VpcCni.Aws.Imds;
using VpcCni.Cloud;

namespace VpcCni.Aws.Tests.Ec2;

public class Ec2OptionsAndBudgetTests
{
    [Theory]
    [InlineData("ADDITIONAL_ENI_TAGS", "{not json")]
    [InlineData("ADDITIONAL_ENI_TAGS", "{\"node.k8s.amazonaws.com/x\":\"y\"}")]
    [InlineData("ENABLE_SUBNET_DISCOVERY", "maybe")]
    [InlineData("AWS_ENDPOINT_URL_EC2", "not a url")]
    [InlineData("VPC_CNI_EC2_BUDGET_SHARE", "2")]
    [InlineData("VPC_CNI_EC2_FLEET_SIZE", "0")]
    [InlineData("VPC_CNI_EC2_FLEET_SIZE", "-3")]
    [InlineData("VPC_CNI_EC2_FLEET_SIZE", "many")]
    [InlineData("CLUSTER_NAME", "has space")]
    public void FromEnvironment_BadValue_ErrorNamesVariable(string variable, string value)
    {
        var act = () => Ec2ProviderOptions.FromEnvironment(name => name == variable ? value : null);

        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain(variable);
    }

    [Theory]
    [InlineData(null, 1)]
    [InlineData("1000", 1000)]
    [InlineData(" 50 ", 50)]
    public void FromEnvironment_FleetSize_BindsOrDefaultsToOne(string? value, int expected) =>
        Ec2ProviderOptions.FromEnvironment(name => name == "VPC_CNI_EC2_FLEET_SIZE" ? value : null).FleetSize.Should().Be(expected);

    [Fact]
    public void FromEnvironment_Valid_Binds()
    {
        var env = new Dictionary<string, string>
        {
            ["CLUSTER_NAME"] = "prod",
            ["ADDITIONAL_ENI_TAGS"] = "{\"team\":\"net\"}",
            ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9/",
        };

        var options = Ec2ProviderOptions.FromEnvironment(n => env.GetValueOrDefault(n));

        options.ClusterName.Should().Be("prod");
        options.AdditionalEniTags.Should().Contain("team", "net");
        options.Ec2Endpoint.Should().Be(new Uri("http://127.0.0.1:9/"));
    }

    [Fact]
    public void ImdsOptions_DisabledWithoutEndpoint_RefusesDefaultAddress()
    {
        var options = ImdsOptions.FromEnvironment(n => n == ImdsOptions.DisabledVariable ? "true" : null);

        var act = () => options.ResolveEndpoint();

        act.Should().Throw<InvalidOperationException>().Which.Message.Should().Contain("AWS_EC2_METADATA_SERVICE_ENDPOINT");
        ImdsOptions.FromEnvironment(n => n == ImdsOptions.EndpointVariable ? "http://127.0.0.1:1/" : "true")
            .ResolveEndpoint().Should().Be(new Uri("http://127.0.0.1:1/"));
    }

    [Fact]
    public async Task CallPolicy_MutatingBudget_WaitsForRefillOnTheClock()
    {
        var time = new FakeTimeProvider();
        using var policy = new Ec2CallPolicy(new Ec2ProviderOptions { AdaptiveRequestBudget = false }, time, NullLogger.Instance);
        var ct = TestContext.Current.CancellationToken;
        for (var i = 0; i < 50; i++)
        {
            await policy.ExecuteAsync("AttachNetworkInterface", true, _ => Task.FromResult(i), ct);
        }

        var waiting = policy.ExecuteAsync("AttachNetworkInterface", true, _ => Task.FromResult(51), ct).AsTask();
        var other = await policy.ExecuteAsync("DescribeSubnets", true, _ => Task.FromResult(1), ct);

        other.Should().Be(1, "another bucket is not affected");
        waiting.IsCompleted.Should().BeFalse("the client-side Mutating bucket (50) is empty");
        time.Advance(TimeSpan.FromMilliseconds(200));
        (await waiting.WaitAsync(TimeSpan.FromSeconds(10), ct)).Should().Be(51);
        policy.Calls.Should().Be(52);
    }

    [Fact]
    public async Task CallPolicy_AdaptiveBudgetRequestsThatMayWait_StandAsideUntilAPodWaits()
    {
        var time = new FakeTimeProvider();
        var priority = new SwitchablePriority { CanWait = true };
        using var policy = new Ec2CallPolicy(new Ec2ProviderOptions(), time, NullLogger.Instance, priority);
        var ct = TestContext.Current.CancellationToken;

        (await policy.ExecuteAsync("CreateNetworkInterface", false, _ => Task.FromResult(1), ct)).Should().Be(1);
        var topUp = policy.ExecuteAsync("CreateNetworkInterface", false, _ => Task.FromResult(2), ct).AsTask();
        await Task.WhenAny(topUp, Task.Delay(100, ct));
        topUp.IsCompleted.Should().BeFalse("a second request nobody waits for goes at 1/8 of the rate, though a token is there");

        priority.CanWait = false;
        for (var i = 0; i < 20 && !topUp.IsCompleted; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.WhenAny(topUp, Task.Delay(20, ct));
        }

        (await topUp.WaitAsync(TimeSpan.FromSeconds(10), ct)).Should().Be(2, "a pod waits now: the request is asked again and goes");
    }

    [Fact]
    public async Task CallPolicy_AdaptiveBudgetUrgentRequests_UseTheTokensAtOnce()
    {
        var time = new FakeTimeProvider();
        using var policy = new Ec2CallPolicy(new Ec2ProviderOptions(), time, NullLogger.Instance, new SwitchablePriority { CanWait = false });
        var ct = TestContext.Current.CancellationToken;

        (await policy.ExecuteAsync("CreateNetworkInterface", false, _ => Task.FromResult(1), ct)).Should().Be(1);
        var second = policy.ExecuteAsync("CreateNetworkInterface", false, _ => Task.FromResult(2), ct).AsTask();

        (await second.WaitAsync(TimeSpan.FromSeconds(10), ct)).Should().Be(2, "the node's two start tokens serve two urgent requests without waiting");
        policy.Calls.Should().Be(2);
    }

    [Fact]
    public async Task CallPolicy_FleetPlaceKnown_SecondRequestOfAClassWaitsForTheNodesNextSlot()
    {
        // Rank 0 of 100 nodes: slot 0 of the Create bucket (100 tokens, 5/s) is now; the node's next is 100 / 5 = 20 s
        // later and opens (100 − 2) / 5 − 1 = 18.6 s before its moment.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        using var policy = new Ec2CallPolicy(new Ec2ProviderOptions(), time, NullLogger.Instance, new SwitchablePriority { CanWait = false }, new FixedPlace(new FleetPosition(0, 100)));
        var ct = TestContext.Current.CancellationToken;

        (await policy.ExecuteAsync("CreateNetworkInterface", false, _ => Task.FromResult(1), ct)).Should().Be(1);
        var second = policy.ExecuteAsync("CreateNetworkInterface", false, _ => Task.FromResult(2), ct).AsTask();
        var other = await policy.ExecuteAsync("AssignPrivateIpAddresses", false, _ => Task.FromResult(3), ct);

        other.Should().Be(3, "another class has its own slots");
        time.Advance(TimeSpan.FromSeconds(1.3));
        await Task.WhenAny(second, Task.Delay(100, ct));
        second.IsCompleted.Should().BeFalse("the node's next Create slot opens 1.4 s from the first");
        time.Advance(TimeSpan.FromSeconds(0.2));
        (await second.WaitAsync(TimeSpan.FromSeconds(10), ct)).Should().Be(2);
    }

    private sealed class FixedPlace(FleetPosition position) : IFleetMembership
    {
        public FleetPosition? Current => position;
    }

    private sealed class SwitchablePriority : ICloudRequestPriority
    {
        public bool CanWait { get; set; }
    }
}
