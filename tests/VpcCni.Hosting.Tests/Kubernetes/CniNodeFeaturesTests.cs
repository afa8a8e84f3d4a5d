using System.Text.Json;
using VpcCni.Hosting.Kubernetes;

namespace VpcCni.Hosting.Tests.Kubernetes;

public sealed class CniNodeFeaturesTests
{
    private static string? Patch(string cniNode)
    {
        using var doc = JsonDocument.Parse(cniNode);
        return CniNodeFeatures.Patch(doc.RootElement, CniNodeFeatures.FeatureName, "us-west-2a");
    }

    [Fact]
    public void Patch_NoFeatures_AddsOneUnderTheReadResourceVersion() =>
        Patch("""{"metadata":{"name":"n1","resourceVersion":"7"},"spec":{}}""").Should().Be(
            """{"metadata":{"resourceVersion":"7"},"spec":{"features":[{"name":"CustomNetworking","value":"us-west-2a"}]}}""");

    [Fact]
    public void Patch_SameNameOtherValue_ReplacesItAndKeepsOthers() =>
        Patch("""{"metadata":{"resourceVersion":"9"},"spec":{"features":[{"name":"SecurityGroupsForPods","value":""},{"name":"CustomNetworking","value":"old"}]}}""")
            .Should().Be("""{"metadata":{"resourceVersion":"9"},"spec":{"features":[{"name":"SecurityGroupsForPods","value":""},{"name":"CustomNetworking","value":"us-west-2a"}]}}""");

    [Fact]
    public void Patch_AlreadyThere_IsNull() =>
        Patch("""{"metadata":{"resourceVersion":"9"},"spec":{"features":[{"name":"CustomNetworking","value":"us-west-2a"}]}}""").Should().BeNull();
}
