using VpcCni.Hosting.Kubernetes;

namespace VpcCni.Hosting.Tests.Kubernetes;

public sealed class EniConfigSelectorTests
{
    private const string Zone = "topology.kubernetes.io/zone";

    private static NodeInfo Node(Dictionary<string, string>? labels = null, Dictionary<string, string>? annotations = null) =>
        new("n1", 29, labels, annotations);

    [Fact]
    public void Select_NothingOnTheNode_IsDefault() =>
        EniConfigSelector.Select(Node(), EniConfigSelector.DefaultKey, EniConfigSelector.DefaultKey).Name.Should().Be("default");

    [Fact]
    public void Select_ZoneLabelAsLabelKey_UsesTheZone() =>
        EniConfigSelector.Select(Node(new() { [Zone] = "us-west-2a" }), EniConfigSelector.DefaultKey, Zone).Name.Should().Be("us-west-2a");

    [Fact]
    public void Select_AnnotationAndLabel_AnnotationWins()
    {
        var node = Node(new() { [EniConfigSelector.DefaultKey] = "from-label" }, new() { [EniConfigSelector.DefaultKey] = "from-annotation" });

        var (name, source) = EniConfigSelector.Select(node, EniConfigSelector.DefaultKey, EniConfigSelector.DefaultKey);

        name.Should().Be("from-annotation");
        source.Should().Contain("annotation");
    }

    [Fact]
    public void Select_ExternalLabel_WinsOverEverything()
    {
        var node = Node(new() { [EniConfigSelector.ExternalLabel] = "external", [Zone] = "us-west-2a" }, new() { [EniConfigSelector.DefaultKey] = "annotated" });

        EniConfigSelector.Select(node, EniConfigSelector.DefaultKey, Zone).Name.Should().Be("external");
    }

    [Fact]
    public void Select_BlankValue_FallsThrough() =>
        EniConfigSelector.Select(Node(new() { [Zone] = "us-west-2b" }, new() { [EniConfigSelector.DefaultKey] = " " }), EniConfigSelector.DefaultKey, Zone)
            .Name.Should().Be("us-west-2b");
}
