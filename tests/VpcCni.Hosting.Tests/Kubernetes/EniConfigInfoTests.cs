using System.Text.Json;
using VpcCni.Hosting.Kubernetes;

namespace VpcCni.Hosting.Tests.Kubernetes;

public sealed class EniConfigInfoTests
{
    private static EniConfigInfo? Decode(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return EniConfigInfo.From(doc.RootElement);
    }

    [Fact]
    public void From_UpstreamShape_KeepsSubnetAndGroups()
    {
        var config = Decode("""{"metadata":{"name":"us-west-2a"},"spec":{"subnet":"subnet-1","securityGroups":["sg-1","sg-2"]}}""");

        config.Should().NotBeNull();
        config!.Name.Should().Be("us-west-2a");
        config.Subnets.Should().Equal("subnet-1");
        config.SecurityGroups.Should().Equal("sg-1", "sg-2");
        config.Problem.Should().BeNull();
    }

    [Fact]
    public void From_SubnetAndSubnets_ListsEachOnceSubnetFirst()
    {
        var config = Decode("""{"metadata":{"name":"a"},"spec":{"subnet":"subnet-1","subnets":["subnet-2","subnet-1","subnet-3"]}}""");

        config!.Subnets.Should().Equal("subnet-1", "subnet-2", "subnet-3");
        config.SecurityGroups.Should().BeEmpty("no groups means the primary ENI's");
        config.Problem.Should().BeNull();
    }

    [Theory]
    [InlineData("""{"metadata":{"name":"a"}}""", "spec is missing")]
    [InlineData("""{"metadata":{"name":"a"},"spec":{"securityGroups":["sg-1"]}}""", "spec.subnet is missing")]
    [InlineData("""{"metadata":{"name":"a"},"spec":{"subnet":5}}""", "spec.subnet must be")]
    [InlineData("""{"metadata":{"name":"a"},"spec":{"subnet":"subnet-1","securityGroups":"sg-1"}}""", "spec.securityGroups must be a list")]
    [InlineData("""{"metadata":{"name":"a"},"spec":{"subnets":["subnet-1",""]}}""", "spec.subnets must contain only non-empty ids")]
    public void From_MalformedSpec_KeepsTheProblemInsteadOfThrowing(string json, string problem)
    {
        var config = Decode(json);

        config.Should().NotBeNull();
        config!.Problem.Should().Contain(problem);
    }

    [Fact]
    public void From_NoName_IsSkipped() => Decode("""{"metadata":{},"spec":{"subnet":"subnet-1"}}""").Should().BeNull();
}
