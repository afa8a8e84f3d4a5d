using System.Text;
using VpcCni.Linux.Pods;

namespace VpcCni.Linux.Tests.Pods;

public sealed class Sha1Tests
{
    [Theory]
    [InlineData("", "da39a3ee5e6b4b0d3255bfef95601890afd80709")]
    [InlineData("abc", "a9993e364706816aba3e25717850c26c9cd0d89d")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1")]
    public void HashData_FipsVectors_MatchPublishedDigests(string message, string expected)
    {
        var digest = new byte[Sha1.HashSize];

        Sha1.HashData(Encoding.ASCII.GetBytes(message), digest);

        Convert.ToHexStringLower(digest).Should().Be(expected);
    }

    [Fact]
    public void HashData_MillionAs_MatchesPublishedDigest()
    {
        var digest = new byte[Sha1.HashSize];

        Sha1.HashData(Enumerable.Repeat((byte)'a', 1_000_000).ToArray(), digest);

        Convert.ToHexStringLower(digest).Should().Be("34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    }

    [Fact]
    public void HashData_EveryLengthAroundBlockBoundaries_MatchesPlatformSha1()
    {
        var random = new Random(7);
        var digest = new byte[Sha1.HashSize];
        for (var length = 0; length <= 300; length++)
        {
            var message = new byte[length];
            random.NextBytes(message);

            Sha1.HashData(message, digest);

#pragma warning disable CA5350 // The platform's SHA-1 is the oracle for ours.
            digest.Should().Equal(System.Security.Cryptography.SHA1.HashData(message), $"length {length}");
#pragma warning restore CA5350
        }
    }

    [Fact]
    public void HashData_ShortDestination_Throws()
    {
        var act = () => Sha1.HashData([1, 2, 3], new byte[19]);

        act.Should().Throw<ArgumentException>().WithMessage("*20 bytes*");
    }
}
