using System.Text;
using System.Text.RegularExpressions;
using VpcCni.Tests.Cni.Oracle;

namespace VpcCni.Tests.Cni;

/// <summary>
/// The codec (Utf8JsonWriter and JsonDocument, no JsonSerializer) against the JsonSerializer codec it replaced, kept as
/// an oracle in Oracle/: the same bytes out, or the same CniException code and message (and details, unless the
/// oracle's were the serializer's own wording), for every entry point.
/// </summary>
public sealed partial class CniCodecDifferentialTests
{
    [Fact]
    public void Codec_ExistingTestCorpus_SameAsSerializerCodec()
    {
        var corpus = TestCorpus();
        var comparison = new CodecComparison();

        foreach (var document in corpus)
        {
            comparison.CompareDocument(Encoding.UTF8.GetBytes(document));
        }

        corpus.Should().HaveCountGreaterThan(100, "the test sources hold well over a hundred JSON documents");
        comparison.Succeeded.Should().BeGreaterThan(200);
        comparison.Mismatches.Should().BeEmpty(comparison.Report());
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("null")]
    [InlineData(" null ")]
    [InlineData("[]")]
    [InlineData("5")]
    [InlineData("\"x\"")]
    [InlineData("\uFEFF{\"cniVersion\":\"1.0.0\"}")]
    [InlineData("{} {}")]
    [InlineData("{}x")]
    [InlineData("{},")]
    [InlineData("{\"cniVersion\":\"1.0.0\",}")]
    [InlineData("{\"cniVersion\":\"1.0.0\"/* c */}")]
    [InlineData("{'cniVersion':'1.0.0'}")]
    [InlineData("{\"cniVersion\":\"0.4.0\",\"cniVersion\":\"1.0.0\"}")]
    [InlineData("{\"cniVersion\":5,\"cniVersion\":\"1.0.0\"}")]
    [InlineData("{\"cniVersion\":\"1.0.0\",\"cniVersion\":null}")]
    [InlineData("{\"CniVersion\":\"0.4.0\",\"IPS\":[]}")]
    [InlineData("{\"\\u0063niVersion\":\"0.4.0\"}")]
    [InlineData("{\"cniVersion\":\"1.1.0\",\"ips\":5,\"ips\":[{\"address\":\"10.0.0.1/32\"}]}")]
    [InlineData("{\"cniVersion\":\"1.1.0\",\"ips\":[{\"address\":\"bad\"}],\"routes\":5}")]
    [InlineData("{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"a\",\"mtu\":\"9001\"}]}")]
    [InlineData("{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"a\",\"mtu\":1.0}]}")]
    [InlineData("{\"cniVersion\":\"1.1.0\",\"interfaces\":[{\"name\":\"a\",\"mtu\":-0}]}")]
    [InlineData("{\"cniVersion\":\"1.1.0\",\"interfaces\":[null]}")]
    [InlineData("{\"cniVersion\":\"0.2.0\",\"ips\":5,\"ip4\":{\"ip\":\"10.0.0.1/8\"}}")]
    [InlineData("{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.1/8\",\"routes\":[null]}}")]
    [InlineData("{\"cniVersion\":\"1.0.0\",\"$type\":\"x\",\"$id\":\"1\",\"$ref\":\"1\",\"ips\":[{\"address\":\"10.0.0.1/32\",\"$ref\":\"2\"}]}")]
    [InlineData("{\"cniVersion\":\"1.0.0\",\"dns\":{\"nameservers\":[null,\"1.1.1.1\"],\"domain\":null}}")]
    [InlineData("{\"cniVersion\":\"1.0.0\",\"dns\":{\"nameservers\":\"1.1.1.1\"}}")]
    [InlineData("{\"code\":null}")]
    [InlineData("{\"code\":-1}")]
    [InlineData("{\"code\":4294967295,\"msg\":\"m\"}")]
    [InlineData("{\"code\":4294967296}")]
    [InlineData("{\"code\":7.0}")]
    [InlineData("{\"code\":\"7\"}")]
    [InlineData("{\"cniVersion\":\"0.2.0\"}")]
    [InlineData("{\"cniVersion\":\"0.4.0\",\"supportedVersions\":[null]}")]
    [InlineData("{\"cniVersion\":\"0.4.0\",\"supportedVersions\":null}")]
    [InlineData("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"dns\":5}")]
    [InlineData("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"dns\":{\"search\":5}}")]
    [InlineData("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"dns\":{\"domain\":\"\\ud800\"}}")]
    [InlineData("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"prevResult\":{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.0.0.1/8\"}}}")]
    [InlineData("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"prevResult\":{\"cniVersion\":\"0.4.0\"}}")]
    [InlineData("{\"cniVersion\":\"0.2.0\",\"name\":\"n\",\"type\":\"t\",\"prevResult\":{\"cniVersion\":\"1.0.0\",\"ips\":[]}}")]
    [InlineData("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"prevResult\":{\"cniVersion\":\"1.0.0\",\"x\":\"\\ud800\"}}")]
    public void Codec_EdgeDocument_SameAsSerializerCodec(string document)
    {
        var comparison = new CodecComparison();

        comparison.CompareDocument(Encoding.UTF8.GetBytes(document));

        comparison.Mismatches.Should().BeEmpty(comparison.Report());
    }

    [Fact]
    public void Codec_InvalidUtf8_SameAsSerializerCodec()
    {
        var comparison = new CodecComparison();
        byte[][] documents =
        [
            [.. "{\"cniVersion\":\"1.0.0\",\"x\":\""u8, 0xFF, .. "\"}"u8],
            [.. "{\"cniVersion\":\""u8, 0xC3, .. "\"}"u8],
            [.. "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":\""u8, 0xED, 0xA0, 0x80, .. "\"}]}"u8],
            [.. "{\"code\":1,\"msg\":\""u8, 0xFF, .. "\"}"u8],
            [.. "{\""u8, 0xFF, .. "\":1}"u8],
            [.. "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"dns\":{\"domain\":\""u8, 0xFF, .. "\"}}"u8],
            [.. "{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"type\":\"t\",\"prevResult\":{\"cniVersion\":\"1.0.0\",\"x\":\""u8, 0xFF, .. "\"}}"u8],
        ];

        foreach (var document in documents)
        {
            comparison.CompareDocument(document);
        }

        comparison.Mismatches.Should().BeEmpty(comparison.Report());
        comparison.OracleEscapes.Should().Be(2, "the oracle let InvalidOperationException escape for the dns and prevResult documents");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Codec_RandomDocuments_SameAsSerializerCodec(int seed)
    {
        var generator = new CniDocumentGenerator(seed);
        var comparison = new CodecComparison();

        for (var i = 0; i < 1500; i++)
        {
            var document = (i % 4) switch
            {
                0 => generator.Result(),
                1 => generator.Config(),
                2 => generator.Error(),
                _ => generator.VersionResult(),
            };
            comparison.CompareDocument(Encoding.UTF8.GetBytes(document));
            comparison.CompareDocument(generator.Mutate(document));
        }

        comparison.Succeeded.Should().BeGreaterThan(3000, "most generated documents are valid enough to parse");
        comparison.Mismatches.Should().BeEmpty(comparison.Report());
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void Writers_RandomModels_SameBytesAsSerializerCodec(int seed)
    {
        var generator = new CniDocumentGenerator(seed);
        var comparison = new CodecComparison();

        for (var i = 0; i < 2000; i++)
        {
            comparison.CompareResultWrites(generator.ResultModel());
            comparison.CompareErrorWrite(generator.ErrorModel());
            comparison.CompareVersionWrite(generator.VersionModel());
        }

        comparison.Succeeded.Should().BeGreaterThan(10000);
        comparison.Mismatches.Should().BeEmpty(comparison.Report());
    }

    /// <summary>Every JSON object literal in this project's test sources (raw and regular string literals).</summary>
    private static List<string> TestCorpus()
    {
        var root = Path.Combine(TestTools.RepoRoot, "tests", "VpcCni.Abstractions.Tests");
        var documents = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ||
                file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            {
                continue;
            }

            var source = File.ReadAllText(file);
            foreach (Match match in RawLiteral().Matches(source))
            {
                documents.Add(match.Groups["text"].Value.Trim());
            }

            foreach (Match match in RegularLiteral().Matches(source))
            {
                documents.Add(Regex.Unescape(match.Groups["text"].Value));
            }
        }

        return [.. documents.Where(d => d.StartsWith('{'))];
    }

    [GeneratedRegex("\"\"\"(?<text>.*?)\"\"\"", RegexOptions.Singleline)]
    private static partial Regex RawLiteral();

    [GeneratedRegex("(?<![\"@$])\"(?<text>\\{(?:[^\"\\\\\\n]|\\\\.)*)\"")]
    private static partial Regex RegularLiteral();
}
