using System.Text.Json;

namespace VpcCni.Aws.Ec2;

/// <summary>Settings of the EC2 ENI provider, bound from upstream's variable names.</summary>
public sealed class Ec2ProviderOptions
{
    /// <summary>CLUSTER_NAME: adds the cluster tags and scopes leaked-ENI cleanup and subnet selection.</summary>
    public string? ClusterName { get; set; }

    /// <summary>ADDITIONAL_ENI_TAGS: extra tags on every ENI created (JSON object).</summary>
    public IReadOnlyDictionary<string, string> AdditionalEniTags { get; set; } = new Dictionary<string, string>();

    /// <summary>ENABLE_SUBNET_DISCOVERY (default true): create ENIs in any subnet tagged kubernetes.io/role/cni.</summary>
    public bool SubnetDiscovery { get; set; } = true;

    /// <summary>How long the subnet tags read for subnet exclusion are reused before DescribeSubnets is asked again.</summary>
    public TimeSpan SubnetTagCacheTtl { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>EC2 endpoint (AWS_ENDPOINT_URL_EC2, else AWS_ENDPOINT_URL); null means the SDK's regional endpoint.</summary>
    public Uri? Ec2Endpoint { get; set; }

    /// <summary>Region (AWS_REGION / AWS_DEFAULT_REGION); null means ask IMDS.</summary>
    public string? Region { get; set; }

    /// <summary>Attempts per EC2 call for throttling and transient errors (Polly; the SDK's own retries are off).</summary>
    public int MaxAttempts { get; set; } = 8;

    /// <summary>Median first retry delay (jittered exponential backoff).</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Cap of one retry delay.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Whether the client-side request budget (mirroring EC2's token buckets) is enforced.</summary>
    public bool RequestBudget { get; set; } = true;

    /// <summary>VPC_CNI_EC2_BUDGET_SHARE: fraction (0–1] of the account's buckets this node may use.</summary>
    public double RequestBudgetShare { get; set; } = 1;

    /// <summary>VPC_CNI_EC2_BUDGET (<c>adaptive</c>, the default, or <c>static</c>): whether the node learns its share of the
    /// account's buckets from EC2's throttling answers (AIMD, docs/ec2-budget.md) or keeps the fixed
    /// <see cref="RequestBudgetShare"/> of them.</summary>
    public bool AdaptiveRequestBudget { get; set; } = true;

    /// <summary>VPC_CNI_EC2_FLEET_SIZE: how many nodes share the account (the cluster's node count, or more; 1, the default:
    /// this node is alone). Above 1 the adaptive budget paces each class at refill / fleet size on its own random grid, so
    /// a whole fleet starting at once is not throttled (docs/ec2-budget.md).</summary>
    public int FleetSize { get; set; } = 1;

    /// <summary>Whether the hourly leaked-ENI sweep runs (DISABLE_LEAKED_ENI_CLEANUP=true turns it off).</summary>
    public bool LeakedEniCleanup { get; set; } = true;

    /// <summary>Time between the end of one leaked-ENI sweep and the start of the next one's jitter (upstream: 1 hour).</summary>
    public TimeSpan LeakedEniSweepInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Each sweep first waits a random time below this, so the nodes of a cluster do not sweep the VPC in step
    /// (upstream: 0–299 s).</summary>
    public TimeSpan LeakedEniSweepMaxJitter { get; set; } = TimeSpan.FromSeconds(300);

    /// <summary>Leaked ENIs younger than this are left alone (upstream: 5 minutes).</summary>
    public TimeSpan LeakedEniGracePeriod { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Attempts of DeleteNetworkInterface while a detach finishes (upstream: 12).</summary>
    public int DeleteAttempts { get; set; } = 12;

    /// <summary>Median first delay between delete attempts; grows exponentially (jittered) up to <see cref="DeleteRetryMaxDelay"/>.</summary>
    public TimeSpan DeleteRetryDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Cap of one delay between delete attempts.</summary>
    public TimeSpan DeleteRetryMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long the clean-up of an ENI whose attach failed (or was cancelled by a shutdown) may take before it is left
    /// to the leaked-ENI sweep.
    /// </summary>
    public TimeSpan AttachCleanupTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Binds and validates from environment variables; every error names its variable.</summary>
    public static Ec2ProviderOptions FromEnvironment(Func<string, string?> getVariable)
    {
        var options = new Ec2ProviderOptions();
        Bind(options, getVariable);
        options.Validate();
        return options;
    }

    /// <summary>
    /// Writes upstream's variables found in <paramref name="getVariable"/> (CLUSTER_NAME, ADDITIONAL_ENI_TAGS,
    /// AWS_REGION, AWS_ENDPOINT_URL_EC2, ...) into <paramref name="options"/>; a value that does not parse throws naming
    /// its variable. Range rules are <see cref="Validate"/>'s.
    /// </summary>
    public static void Bind(Ec2ProviderOptions options, Func<string, string?> getVariable)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(getVariable);
        var cluster = getVariable("CLUSTER_NAME");
        options.ClusterName = string.IsNullOrWhiteSpace(cluster) ? null : cluster.Trim();
        options.AdditionalEniTags = ParseTags(getVariable("ADDITIONAL_ENI_TAGS"));
        options.SubnetDiscovery = ParseBool("ENABLE_SUBNET_DISCOVERY", getVariable("ENABLE_SUBNET_DISCOVERY"), true);
        options.LeakedEniCleanup = !ParseBool("DISABLE_LEAKED_ENI_CLEANUP", getVariable("DISABLE_LEAKED_ENI_CLEANUP"), false);
        foreach (var name in new[] { "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL" })
        {
            var value = getVariable(name);
            if (string.IsNullOrWhiteSpace(value))
            {
                continue;
            }

            if (!Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw new ArgumentException($"{name}='{value}' is not an absolute http(s) URL");
            }

            options.Ec2Endpoint = uri;
            break;
        }

        var region = getVariable("AWS_REGION");
        region = string.IsNullOrWhiteSpace(region) ? getVariable("AWS_DEFAULT_REGION") : region;
        options.Region = string.IsNullOrWhiteSpace(region) ? null : region.Trim();
        var mode = getVariable("VPC_CNI_EC2_BUDGET");
        if (!string.IsNullOrWhiteSpace(mode))
        {
            options.AdaptiveRequestBudget = mode.Trim().ToLowerInvariant() switch
            {
                "adaptive" => true,
                "static" => false,
                _ => throw new ArgumentException($"VPC_CNI_EC2_BUDGET='{mode}' must be adaptive or static"),
            };
        }

        var fleet = getVariable("VPC_CNI_EC2_FLEET_SIZE");
        if (!string.IsNullOrWhiteSpace(fleet))
        {
            options.FleetSize = int.TryParse(fleet.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= 1
                ? n
                : throw new ArgumentException($"VPC_CNI_EC2_FLEET_SIZE='{fleet}' must be a whole number of at least 1");
        }

        var share = getVariable("VPC_CNI_EC2_BUDGET_SHARE");
        if (!string.IsNullOrWhiteSpace(share))
        {
            if (!double.TryParse(share, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var s))
            {
                throw new ArgumentException($"VPC_CNI_EC2_BUDGET_SHARE='{share}' is not a number");
            }

            options.RequestBudgetShare = s;
        }
    }

    /// <summary>Throws an <see cref="ArgumentException"/> naming the variable of the first bad setting.</summary>
    public void Validate()
    {
        if (ClusterName is { Length: > 0 } name && (name.Length > 255 || name.Any(char.IsWhiteSpace)))
        {
            throw new ArgumentException($"CLUSTER_NAME='{name}' must be at most 255 characters without spaces");
        }

        foreach (var (key, value) in AdditionalEniTags)
        {
            if (key.Length is 0 or > 128 || value.Length > 256)
            {
                throw new ArgumentException($"ADDITIONAL_ENI_TAGS: tag '{key}' must have a 1-128 character key and a value of at most 256");
            }

            if (key.StartsWith("aws:", StringComparison.OrdinalIgnoreCase) || key.Contains("k8s.amazonaws.com", StringComparison.Ordinal))
            {
                throw new ArgumentException($"ADDITIONAL_ENI_TAGS: tag key '{key}' is reserved (aws: prefix or k8s.amazonaws.com)");
            }
        }

        if (AdditionalEniTags.Count > 40)
        {
            throw new ArgumentException($"ADDITIONAL_ENI_TAGS has {AdditionalEniTags.Count} tags; EC2 allows 50 per resource and the CNI uses up to 4");
        }

        if (RequestBudgetShare is <= 0 or > 1 || double.IsNaN(RequestBudgetShare))
        {
            throw new ArgumentException($"VPC_CNI_EC2_BUDGET_SHARE={RequestBudgetShare} must be in (0, 1]");
        }

        if (MaxAttempts < 1 || DeleteAttempts < 1)
        {
            throw new ArgumentException("EC2 MaxAttempts and DeleteAttempts must be at least 1");
        }

        if (RetryBaseDelay <= TimeSpan.Zero || RetryMaxDelay < RetryBaseDelay || DeleteRetryDelay <= TimeSpan.Zero
            || DeleteRetryMaxDelay < DeleteRetryDelay || AttachCleanupTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("EC2 retry delays must be positive and RetryMaxDelay >= RetryBaseDelay");
        }

        if (LeakedEniGracePeriod < TimeSpan.Zero)
        {
            throw new ArgumentException("LeakedEniGracePeriod must not be negative");
        }

        if (LeakedEniSweepInterval <= TimeSpan.Zero || LeakedEniSweepMaxJitter < TimeSpan.Zero)
        {
            throw new ArgumentException("LeakedEniSweepInterval must be positive and LeakedEniSweepMaxJitter not negative");
        }
    }

    private static bool ParseBool(string name, string? value, bool fallback) =>
        string.IsNullOrWhiteSpace(value) ? fallback
        : bool.TryParse(value.Trim(), out var b) ? b
        : throw new ArgumentException($"{name}='{value}' is not true or false");

    private static Dictionary<string, string> ParseTags(string? json)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(json))
        {
            return tags;
        }

        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException("ADDITIONAL_ENI_TAGS must be a JSON object of string values, e.g. {\"team\":\"net\"}");
            }

            foreach (var property in doc.RootElement.EnumerateObject())
            {
                tags[property.Name] = property.Value.ValueKind == JsonValueKind.String
                    ? property.Value.GetString()!
                    : throw new ArgumentException($"ADDITIONAL_ENI_TAGS: the value of '{property.Name}' must be a string");
            }
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"ADDITIONAL_ENI_TAGS is not valid JSON: {e.Message}", e);
        }

        return tags;
    }
}
