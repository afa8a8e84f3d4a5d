using System.Net.Http.Headers;
using k8s.Authentication;

namespace VpcCni.Hosting.Kubernetes;

/// <summary>
/// The service-account token file, re-read when it changes: the kubelet rotates projected tokens (about every hour,
/// valid for a bit longer), so a token read once at start would expire under a long-running daemon. The file's write
/// time is checked at most every <see cref="CheckInterval"/> (on the <see cref="TimeProvider"/>).
/// </summary>
internal sealed class ServiceAccountToken(string path, TimeProvider timeProvider) : ITokenProvider
{
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private string? _token;
    private DateTime _written;
    private DateTimeOffset _nextCheck = DateTimeOffset.MinValue;

    public Task<AuthenticationHeaderValue> GetAuthenticationHeaderAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new AuthenticationHeaderValue("Bearer", Current()));

    /// <summary>The token, re-read if the file changed since it was last read.</summary>
    public string Current()
    {
        lock (_lock)
        {
            var now = timeProvider.GetUtcNow();
            if (_token is null || now >= _nextCheck)
            {
                _nextCheck = now + CheckInterval;
                var written = File.GetLastWriteTimeUtc(path);
                if (_token is null || written != _written)
                {
                    _token = File.ReadAllText(path).Trim();
                    _written = written;
                }
            }

            return _token;
        }
    }
}
