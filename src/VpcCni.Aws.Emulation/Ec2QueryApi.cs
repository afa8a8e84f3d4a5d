using System.Globalization;
using System.Net;
using System.Text;
using System.Xml;
using VpcCni.Aws.Simulation;

namespace VpcCni.Aws.Emulation;

/// <summary>An HTTP answer of the emulator.</summary>
internal sealed record EmulatorResponse(int Status, string ContentType, string Body)
{
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>Close the connection without answering (a lost reply with <see cref="RequestGate.DropLostReplies"/>).</summary>
    public bool AbortConnection { get; init; }
}

/// <summary>
/// The EC2 Query API (form-encoded POST or a GET query string, XML answers, <c>Response/Errors/Error</c> documents) over a
/// <see cref="SimulatedVpc"/>: every action the EC2 provider calls. Bad input of any kind becomes an EC2
/// 4xx error document, never an exception.
/// </summary>
internal sealed class Ec2QueryApi(SimulatedVpc vpc)
{
    private const string Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/";

    /// <summary>EC2's code for a request without an Action (a common client error; the provider never sends one).</summary>
    internal const string MissingAction = "MissingAction";
    private static readonly XmlWriterSettings WriterSettings = new() { OmitXmlDeclaration = true, Indent = false };
    private const string Declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    private long _requestCounter;

    /// <summary>Parses an application/x-www-form-urlencoded body (or query string).</summary>
    public static Dictionary<string, string> ParseForm(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var form = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in body.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = WebUtility.UrlDecode(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? string.Empty : WebUtility.UrlDecode(pair[(eq + 1)..]);
            form[key] = value;
        }

        return form;
    }

    /// <summary>Handles one request; never throws for bad input.</summary>
    public async ValueTask<EmulatorResponse> HandleAsync(IReadOnlyDictionary<string, string> form, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(form);
        var requestId = NewRequestId();
        if (!form.TryGetValue("Action", out var action) || action.Length == 0)
        {
            return Error(MissingAction, "The request must contain the parameter Action", requestId);
        }

        // Control characters (NUL among them) are not valid in any EC2 parameter, and could not even be echoed in an
        // XML error document: refuse them up front as a client error, which SDKs do not retry.
        foreach (var (key, value) in form)
        {
            var badKey = !IsParameterText(key);
            if (badKey || !IsParameterText(value))
            {
                var name = badKey ? "a parameter name" : $"parameter {key}";
                return Error(Ec2ErrorCodes.InvalidParameterValue, $"The value for {name} contains invalid characters.", requestId);
            }
        }

        var p = new Params(form);
        try
        {
            if (!Actions.Contains(action))
            {
                return Error(Ec2ErrorCodes.InvalidAction, $"The action {action} is not valid for this web service.", requestId);
            }

            var filtered = form.Keys.Any(k => k.StartsWith("Filter.", StringComparison.Ordinal) || k.StartsWith("MaxResults", StringComparison.Ordinal)
                || k.StartsWith("NetworkInterfaceId.", StringComparison.Ordinal) || k.StartsWith("InstanceId.", StringComparison.Ordinal));
            var loseReply = await vpc.Requests.EnterAsync(action, filtered, cancellationToken).ConfigureAwait(false);
            EmulatorResponse answer;
            try
            {
                answer = Ok(action, requestId, w => Dispatch(action, p, w));
            }
            catch (Exception e) when (loseReply && e is SimulatedEc2Exception or BadParameterException)
            {
                // Carried out (and failed): the lost reply hides the error just as it would hide a success.
                answer = Error(Ec2ErrorCodes.InternalError, "lost", requestId);
            }

            if (loseReply)
            {
                var lost = RequestGate.LostReplyError(action);
                return Error(lost.Code, lost.Message, requestId) with { AbortConnection = vpc.Requests.DropLostReplies };
            }

            return answer;
        }
        catch (SimulatedEc2Exception e)
        {
            return Error(e.Code, e.Message, requestId);
        }
        catch (BadParameterException e)
        {
            return Error(e.Code, e.Message, requestId);
        }
    }

    /// <summary>What an EC2 parameter may hold: no control character (C0, C1, DEL) and nothing XML cannot carry.</summary>
    private static bool IsParameterText(string text) => !HasControlCharacter(text) && IsXmlText(text);

    /// <summary>C0 and C1 control characters, DEL, and UTF-16 surrogates that do not pair.</summary>
    private static bool HasControlCharacter(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsControl(c))
            {
                return true;
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return true;
            }
        }

        return false;
    }

    private static readonly HashSet<string> Actions = new(StringComparer.Ordinal)
    {
        "CreateNetworkInterface", "AttachNetworkInterface", "DetachNetworkInterface", "DeleteNetworkInterface",
        "ModifyNetworkInterfaceAttribute", "AssignPrivateIpAddresses", "UnassignPrivateIpAddresses",
        "DescribeNetworkInterfaces", "DescribeInstances", "DescribeSubnets", "DescribeInstanceTypes", "CreateTags",
        "AssociateVpcCidrBlock", "AssignIpv6Addresses", "UnassignIpv6Addresses", "DescribeVpcs",
    };

    private void Dispatch(string action, Params p, XmlWriter w)
    {
        switch (action)
        {
            case "CreateNetworkInterface":
            {
                var tags = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var n in p.Indexes("TagSpecification"))
                {
                    var type = p.Optional($"TagSpecification.{n}.ResourceType");
                    if (type is not null && type != "network-interface")
                    {
                        throw new BadParameterException(Ec2ErrorCodes.InvalidParameterValue, $"'{type}' is not a valid taggable resource type for this operation.");
                    }

                    foreach (var (key, value) in p.Tags($"TagSpecification.{n}.Tag"))
                    {
                        tags[key] = value;
                    }
                }

                var eni = vpc.CreateNetworkInterface(
                    p.Required("SubnetId"),
                    p.Optional("Description"),
                    p.List("SecurityGroupId"),
                    p.Int("SecondaryPrivateIpAddressCount") ?? 0,
                    p.Int("Ipv4PrefixCount") ?? 0,
                    tags,
                    p.Optional("ClientToken"));
                w.WriteStartElement("networkInterface");
                WriteEni(w, eni);
                w.WriteEndElement();
                break;
            }

            case "AttachNetworkInterface":
            {
                var card = p.Int("NetworkCardIndex") ?? 0;
                var id = vpc.AttachNetworkInterface(p.Required("NetworkInterfaceId"), p.Required("InstanceId"),
                    p.Int("DeviceIndex") ?? throw new BadParameterException(Ec2ErrorCodes.MissingParameter, "The request must contain the parameter DeviceIndex"), card);
                w.WriteElementString("attachmentId", id);
                w.WriteElementString("networkCardIndex", card.ToString(CultureInfo.InvariantCulture));
                break;
            }

            case "DetachNetworkInterface":
                vpc.DetachNetworkInterface(p.Required("AttachmentId"), p.Bool("Force") ?? false);
                w.WriteElementString("return", "true");
                break;
            case "DeleteNetworkInterface":
                vpc.DeleteNetworkInterface(p.Required("NetworkInterfaceId"));
                w.WriteElementString("return", "true");
                break;
            case "ModifyNetworkInterfaceAttribute":
            {
                var groups = p.List("SecurityGroupId");
                vpc.ModifyNetworkInterfaceAttribute(
                    p.Required("NetworkInterfaceId"),
                    p.Optional("Attachment.AttachmentId"),
                    p.Bool("Attachment.DeleteOnTermination"),
                    groups.Count > 0 ? groups : null,
                    p.Optional("Description.Value"));
                w.WriteElementString("return", "true");
                break;
            }

            case "AssignPrivateIpAddresses":
            {
                var eniId = p.Required("NetworkInterfaceId");
                var assigned = vpc.AssignPrivateIpAddresses(eniId, p.Int("SecondaryPrivateIpAddressCount") ?? 0, p.Int("Ipv4PrefixCount") ?? 0);
                w.WriteElementString("networkInterfaceId", eniId);
                w.WriteStartElement("assignedPrivateIpAddressesSet");
                foreach (var a in assigned.Where(c => c.PrefixLength == 32))
                {
                    w.WriteStartElement("item");
                    w.WriteElementString("privateIpAddress", a.BaseAddress.ToString());
                    w.WriteEndElement();
                }

                w.WriteEndElement();
                w.WriteStartElement("assignedIpv4PrefixSet");
                foreach (var a in assigned.Where(c => c.PrefixLength != 32))
                {
                    w.WriteStartElement("item");
                    w.WriteElementString("ipv4Prefix", a.ToString());
                    w.WriteEndElement();
                }

                w.WriteEndElement();
                w.WriteElementString("return", "true");
                break;
            }

            case "UnassignPrivateIpAddresses":
            {
                var cidrs = p.List("PrivateIpAddress").Select(a => new IPNetwork(Params.ParseAddress(a, "PrivateIpAddress"), 32))
                    .Concat(p.List("Ipv4Prefix").Select(c => Params.ParseCidr(c, "Ipv4Prefix")))
                    .ToList();
                vpc.UnassignPrivateIpAddresses(p.Required("NetworkInterfaceId"), cidrs);
                w.WriteElementString("return", "true");
                break;
            }

            case "AssignIpv6Addresses":
            {
                var eniId = p.Required("NetworkInterfaceId");
                if (p.List("Ipv6Addresses").Count > 0 || p.List("Ipv6Prefix").Count > 0)
                {
                    // Named addresses or prefixes are not modelled; ipamd only asks by count.
                    throw new BadParameterException(Ec2ErrorCodes.InvalidParameterValue, "Specific IPv6 addresses or prefixes are not supported by the emulator; use Ipv6PrefixCount");
                }

                var assigned = vpc.AssignIpv6Addresses(eniId, p.Int("Ipv6AddressCount") ?? 0, p.Int("Ipv6PrefixCount") ?? 0);
                w.WriteStartElement("assignedIpv6Addresses");
                w.WriteEndElement();
                w.WriteStartElement("assignedIpv6PrefixSet");
                foreach (var prefix in assigned)
                {
                    w.WriteElementString("item", prefix.ToString());
                }

                w.WriteEndElement();
                w.WriteElementString("networkInterfaceId", eniId);
                break;
            }

            case "UnassignIpv6Addresses":
            {
                var eniId = p.Required("NetworkInterfaceId");
                if (p.List("Ipv6Addresses").Count > 0)
                {
                    throw new BadParameterException(Ec2ErrorCodes.InvalidParameterValue, "Specific IPv6 addresses are not supported by the emulator; unassign Ipv6Prefix.N");
                }

                var prefixes = p.List("Ipv6Prefix").Select(c => Params.ParseIpv6Prefix(c, "Ipv6Prefix")).ToList();
                vpc.UnassignIpv6Addresses(eniId, prefixes);
                w.WriteElementString("networkInterfaceId", eniId);
                w.WriteStartElement("unassignedIpv6Addresses");
                w.WriteEndElement();
                w.WriteStartElement("unassignedIpv6PrefixSet");
                foreach (var prefix in prefixes)
                {
                    w.WriteElementString("item", prefix.ToString());
                }

                w.WriteEndElement();
                break;
            }

            case "DescribeVpcs":
            {
                var ids = p.List("VpcId");
                var vpcs = ids.Count > 0 ? ids.Select(vpc.DescribeVpc).ToList() : vpc.DescribeVpcs();
                w.WriteStartElement("vpcSet");
                foreach (var v in vpcs)
                {
                    w.WriteStartElement("item");
                    w.WriteElementString("vpcId", v.VpcId);
                    w.WriteElementString("ownerId", OwnerId);
                    w.WriteElementString("state", "available");
                    w.WriteElementString("cidrBlock", v.Cidrs[0].ToString());
                    w.WriteStartElement("cidrBlockAssociationSet");
                    for (var i = 0; i < v.Cidrs.Count; i++)
                    {
                        w.WriteStartElement("item");
                        w.WriteElementString("associationId", $"vpc-cidr-assoc-{v.VpcId["vpc-".Length..]}{i:x2}");
                        w.WriteElementString("cidrBlock", v.Cidrs[i].ToString());
                        w.WriteStartElement("cidrBlockState");
                        w.WriteElementString("state", "associated");
                        w.WriteEndElement();
                        w.WriteEndElement();
                    }

                    w.WriteEndElement();
                    WriteIpv6Blocks(w, "vpc-cidr-assoc-v6-" + v.VpcId["vpc-".Length..], v.Ipv6Cidrs);
                    w.WriteElementString("isDefault", "false");
                    w.WriteEndElement();
                }

                w.WriteEndElement();
                break;
            }

            case "CreateTags":
            {
                var resources = p.List("ResourceId");
                if (resources.Count == 0)
                {
                    throw new BadParameterException(Ec2ErrorCodes.MissingParameter, "The request must contain the parameter ResourceId");
                }

                vpc.CreateTags(resources, p.Tags("Tag").ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal));
                w.WriteElementString("return", "true");
                break;
            }

            case "DescribeNetworkInterfaces":
            {
                var ids = NullIfEmpty(p.List("NetworkInterfaceId"));
                var page = vpc.DescribeNetworkInterfaces(ids, p.Filters(), p.Int("MaxResults"), p.Optional("NextToken"));
                if (ids is null && vpc.Requests.TakeEmptyDescribe())
                {
                    page = new Ec2Page<SimulatedEni>([], null);
                }

                w.WriteStartElement("networkInterfaceSet");
                foreach (var eni in page.Items)
                {
                    w.WriteStartElement("item");
                    WriteEni(w, eni);
                    w.WriteEndElement();
                }

                w.WriteEndElement();
                if (page.NextToken is not null)
                {
                    w.WriteElementString("nextToken", page.NextToken);
                }

                break;
            }

            case "DescribeInstances":
            {
                var instances = vpc.DescribeInstances(NullIfEmpty(p.List("InstanceId")), p.Filters());
                w.WriteStartElement("reservationSet");
                foreach (var i in instances)
                {
                    w.WriteStartElement("item");
                    w.WriteElementString("reservationId", "r-" + i.InstanceId[2..]);
                    w.WriteElementString("ownerId", OwnerId);
                    w.WriteStartElement("instancesSet");
                    w.WriteStartElement("item");
                    w.WriteElementString("instanceId", i.InstanceId);
                    w.WriteElementString("instanceType", i.InstanceType);
                    w.WriteStartElement("placement");
                    w.WriteElementString("availabilityZone", i.AvailabilityZone);
                    w.WriteEndElement();
                    w.WriteStartElement("instanceState");
                    w.WriteElementString("code", "16");
                    w.WriteElementString("name", i.State);
                    w.WriteEndElement();
                    w.WriteElementString("privateIpAddress", i.PrivateIPv4.ToString());
                    w.WriteElementString("subnetId", i.SubnetId);
                    w.WriteElementString("vpcId", i.VpcId);
                    w.WriteStartElement("networkInterfaceSet");
                    foreach (var eni in i.NetworkInterfaces)
                    {
                        w.WriteStartElement("item");
                        WriteEni(w, eni);
                        w.WriteEndElement();
                    }

                    w.WriteEndElement();
                    w.WriteEndElement();
                    w.WriteEndElement();
                    w.WriteEndElement();
                }

                w.WriteEndElement();
                break;
            }

            case "DescribeSubnets":
            {
                var subnets = vpc.DescribeSubnets(NullIfEmpty(p.List("SubnetId")), p.Filters());
                w.WriteStartElement("subnetSet");
                foreach (var s in subnets)
                {
                    w.WriteStartElement("item");
                    w.WriteElementString("subnetId", s.SubnetId);
                    w.WriteElementString("state", "available");
                    w.WriteElementString("vpcId", s.VpcId);
                    w.WriteElementString("cidrBlock", s.Cidr.ToString());
                    w.WriteElementString("availableIpAddressCount", s.AvailableIpAddressCount.ToString(CultureInfo.InvariantCulture));
                    w.WriteElementString("availabilityZone", s.AvailabilityZone);
                    WriteIpv6Blocks(w, "subnet-cidr-assoc-" + s.SubnetId["subnet-".Length..], s.Ipv6Cidr is { } v6 ? [v6] : []);

                    // EC2 reports no free /28 count; the emulator adds it as a tag only it sets (FragmentedSubnets).
                    WriteTags(w, new Dictionary<string, string>(s.Tags, StringComparer.Ordinal)
                    {
                        [FragmentedSubnets.EmulatorFreeBlocksTag] = s.FreePrefixBlocks.ToString(CultureInfo.InvariantCulture),
                    });
                    w.WriteEndElement();
                }

                w.WriteEndElement();
                break;
            }

            case "DescribeInstanceTypes":
            {
                var types = vpc.DescribeInstanceTypes(p.List("InstanceType"));
                w.WriteStartElement("instanceTypeSet");
                foreach (var t in types)
                {
                    w.WriteStartElement("item");
                    w.WriteElementString("instanceType", t.InstanceType);
                    w.WriteElementString("bareMetal", t.IsBareMetal ? "true" : "false");
                    w.WriteElementString("hypervisor", t.Hypervisor);
                    w.WriteStartElement("networkInfo");
                    w.WriteElementString("maximumNetworkInterfaces", t.MaxEnis.ToString(CultureInfo.InvariantCulture));
                    w.WriteElementString("ipv4AddressesPerInterface", t.IPv4PerEni.ToString(CultureInfo.InvariantCulture));
                    w.WriteElementString("maximumNetworkCards", t.NetworkCards.ToString(CultureInfo.InvariantCulture));
                    w.WriteElementString("defaultNetworkCardIndex", t.DefaultNetworkCardIndex.ToString(CultureInfo.InvariantCulture));
                    w.WriteEndElement();
                    w.WriteEndElement();
                }

                w.WriteEndElement();
                break;
            }

            case "AssociateVpcCidrBlock":
            {
                // IPv4 blocks only (the simulated VPC has no IPv6); the association is complete at once.
                var vpcId = p.Required("VpcId");
                var text = p.Required("CidrBlock");
                if (!IPNetwork.TryParse(text, out var cidr) || cidr.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
                {
                    throw new BadParameterException(Ec2ErrorCodes.InvalidParameterValue, $"Value ({text}) for parameter cidrBlock is invalid. This is not a valid CIDR block.");
                }

                SimulatedVpcInfo info;
                try
                {
                    info = vpc.AddVpcCidr(vpcId, cidr);
                }
                catch (ArgumentException)
                {
                    // A size outside /16–/28: EC2's code for a block it cannot take.
                    throw new BadParameterException("InvalidVpc.Range", $"The CIDR '{cidr}' is invalid.");
                }

                w.WriteStartElement("cidrBlockAssociation");
                w.WriteElementString("associationId", $"vpc-cidr-assoc-{vpcId["vpc-".Length..]}{info.Cidrs.Count - 1:x2}");
                w.WriteElementString("cidrBlock", cidr.ToString());
                w.WriteStartElement("cidrBlockState");
                w.WriteElementString("state", "associated");
                w.WriteEndElement();
                w.WriteEndElement();
                w.WriteElementString("vpcId", vpcId);
                break;
            }

            default:
                throw new BadParameterException(Ec2ErrorCodes.InvalidAction, $"The action {action} is not valid for this web service.");
        }
    }

    private const string OwnerId = "111122223333";

    private static List<string>? NullIfEmpty(List<string> list) => list.Count == 0 ? null : list;

    private static void WriteEni(XmlWriter w, SimulatedEni eni)
    {
        w.WriteElementString("networkInterfaceId", eni.NetworkInterfaceId);
        w.WriteElementString("subnetId", eni.SubnetId);
        w.WriteElementString("vpcId", eni.VpcId);
        w.WriteElementString("availabilityZone", eni.AvailabilityZone);
        w.WriteElementString("description", eni.Description);
        w.WriteElementString("ownerId", OwnerId);
        w.WriteElementString("requesterManaged", "false");
        w.WriteElementString("status", eni.Status);
        w.WriteElementString("macAddress", eni.MacAddress);
        w.WriteElementString("privateIpAddress", eni.PrimaryIPv4.ToString());
        w.WriteElementString("sourceDestCheck", "true");
        w.WriteElementString("interfaceType", eni.InterfaceType);
        w.WriteStartElement("groupSet");
        foreach (var g in eni.SecurityGroupIds)
        {
            w.WriteStartElement("item");
            w.WriteElementString("groupId", g);
            w.WriteEndElement();
        }

        w.WriteEndElement();
        if (eni.Attachment is { } a)
        {
            w.WriteStartElement("attachment");
            w.WriteElementString("attachmentId", a.AttachmentId);
            w.WriteElementString("instanceId", a.InstanceId);
            w.WriteElementString("instanceOwnerId", OwnerId);
            w.WriteElementString("deviceIndex", a.DeviceIndex.ToString(CultureInfo.InvariantCulture));
            w.WriteElementString("networkCardIndex", a.NetworkCardIndex.ToString(CultureInfo.InvariantCulture));
            w.WriteElementString("status", a.Status);
            w.WriteElementString("attachTime", a.AttachTime.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            w.WriteElementString("deleteOnTermination", a.DeleteOnTermination ? "true" : "false");
            w.WriteEndElement();
        }

        WriteTags(w, eni.Tags);
        w.WriteStartElement("privateIpAddressesSet");
        foreach (var (address, primary) in eni.SecondaryIPv4.Select(x => (x, false)).Prepend((eni.PrimaryIPv4, true)))
        {
            w.WriteStartElement("item");
            w.WriteElementString("privateIpAddress", address.ToString());
            w.WriteElementString("primary", primary ? "true" : "false");
            w.WriteEndElement();
        }

        w.WriteEndElement();
        w.WriteStartElement("ipv4PrefixSet");
        foreach (var prefix in eni.IPv4Prefixes)
        {
            w.WriteStartElement("item");
            w.WriteElementString("ipv4Prefix", prefix.ToString());
            w.WriteEndElement();
        }

        w.WriteEndElement();
        w.WriteStartElement("ipv6AddressesSet");
        foreach (var address in eni.IPv6Addresses)
        {
            w.WriteStartElement("item");
            w.WriteElementString("ipv6Address", address.ToString());
            w.WriteElementString("isPrimaryIpv6", "false");
            w.WriteEndElement();
        }

        w.WriteEndElement();
        w.WriteStartElement("ipv6PrefixSet");
        foreach (var prefix in eni.IPv6Prefixes)
        {
            w.WriteStartElement("item");
            w.WriteElementString("ipv6Prefix", prefix.ToString());
            w.WriteEndElement();
        }

        w.WriteEndElement();
    }

    /// <summary>EC2's <c>ipv6CidrBlockAssociationSet</c> of a VPC or subnet (every block associated).</summary>
    private static void WriteIpv6Blocks(XmlWriter w, string associationPrefix, IReadOnlyList<IPNetwork> blocks)
    {
        w.WriteStartElement("ipv6CidrBlockAssociationSet");
        for (var i = 0; i < blocks.Count; i++)
        {
            w.WriteStartElement("item");
            w.WriteElementString("associationId", string.Create(CultureInfo.InvariantCulture, $"{associationPrefix}{i:x2}"));
            w.WriteElementString("ipv6CidrBlock", blocks[i].ToString());
            w.WriteStartElement("ipv6CidrBlockState");
            w.WriteElementString("state", "associated");
            w.WriteEndElement();
            w.WriteEndElement();
        }

        w.WriteEndElement();
    }

    private static void WriteTags(XmlWriter w, IReadOnlyDictionary<string, string> tags)
    {
        w.WriteStartElement("tagSet");
        foreach (var (key, value) in tags.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            w.WriteStartElement("item");
            w.WriteElementString("key", key);
            w.WriteElementString("value", value);
            w.WriteEndElement();
        }

        w.WriteEndElement();
    }

    private static EmulatorResponse Ok(string action, string requestId, Action<XmlWriter> body)
    {
        var sb = new StringBuilder();
        using (var w = XmlWriter.Create(sb, WriterSettings))
        {
            w.WriteStartElement(action + "Response", Namespace);
            w.WriteElementString("requestId", requestId);
            body(w);
            w.WriteEndElement();
        }

        return new EmulatorResponse(200, "text/xml;charset=UTF-8", Declaration + sb.ToString());
    }

    /// <summary>True when every character can appear in an XML document.</summary>
    private static bool IsXmlText(string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (XmlConvert.IsXmlChar(text[i]))
            {
                continue;
            }

            if (i + 1 < text.Length && XmlConvert.IsXmlSurrogatePair(text[i + 1], text[i]))
            {
                i++;
                continue;
            }

            return false;
        }

        return true;
    }

    /// <summary>EC2's error document.</summary>
    public static EmulatorResponse Error(string code, string message, string requestId)
    {
        message = XmlSafe(message);
        var sb = new StringBuilder();
        using (var w = XmlWriter.Create(sb, WriterSettings))
        {
            w.WriteStartElement("Response");
            w.WriteStartElement("Errors");
            w.WriteStartElement("Error");
            w.WriteElementString("Code", XmlSafe(code));
            w.WriteElementString("Message", XmlSafe(message));
            w.WriteEndElement();
            w.WriteEndElement();
            w.WriteElementString("RequestID", requestId);
            w.WriteEndElement();
        }

        return new EmulatorResponse(Ec2ErrorCodes.HttpStatusFor(code), "text/xml;charset=UTF-8", Declaration + sb.ToString());
    }

    /// <summary>Replaces what XML cannot carry, so an error document can always be written.</summary>
    private static string XmlSafe(string text)
    {
        try
        {
            XmlConvert.VerifyXmlChars(text);
            return text;
        }
        catch (XmlException)
        {
            var sb = new StringBuilder(text.Length);
            foreach (var c in text)
            {
                sb.Append(XmlConvert.IsXmlChar(c) ? c : '\uFFFD');
            }

            return sb.ToString();
        }
    }

    private string NewRequestId()
    {
        var n = Interlocked.Increment(ref _requestCounter);
        return string.Create(CultureInfo.InvariantCulture, $"00000000-0000-4000-8000-{n:x12}");
    }

    private sealed class BadParameterException(string code, string message) : Exception(message)
    {
        public string Code { get; } = code;
    }

    private sealed class Params(IReadOnlyDictionary<string, string> form)
    {
        public string? Optional(string name) => form.TryGetValue(name, out var v) ? v : null;

        public string Required(string name) =>
            form.TryGetValue(name, out var v) && v.Length > 0 ? v
                : throw new BadParameterException(Ec2ErrorCodes.MissingParameter, $"The request must contain the parameter {name}");

        public int? Int(string name) =>
            Optional(name) is not { } v ? null
            : int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i) ? i
            : throw new BadParameterException(Ec2ErrorCodes.InvalidParameterValue, $"Value ({v}) for parameter {name} is invalid. Expected an integer.");

        public bool? Bool(string name) =>
            Optional(name) is not { } v ? null
            : bool.TryParse(v, out var b) ? b
            : throw new BadParameterException(Ec2ErrorCodes.InvalidParameterValue, $"Value ({v}) for parameter {name} is invalid. Expected a boolean.");

        /// <summary>The N of every <c>prefix.N…</c> key, ascending.</summary>
        public List<int> Indexes(string prefix)
        {
            var result = new SortedSet<int>();
            foreach (var key in form.Keys)
            {
                if (key.Length > prefix.Length + 1 && key.StartsWith(prefix + ".", StringComparison.Ordinal))
                {
                    var rest = key[(prefix.Length + 1)..];
                    var dot = rest.IndexOf('.', StringComparison.Ordinal);
                    var digits = dot < 0 ? rest : rest[..dot];
                    if (!int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || n > 10_000)
                    {
                        throw new BadParameterException(Ec2ErrorCodes.InvalidParameterValue, $"The parameter {key} is not recognized");
                    }

                    result.Add(n);
                }
            }

            return [.. result];
        }

        public List<string> List(string prefix) =>
            [.. Indexes(prefix).Select(n => Optional($"{prefix}.{n}")).OfType<string>()];

        public List<KeyValuePair<string, string>> Tags(string prefix) =>
            [.. Indexes(prefix).Select(n => new KeyValuePair<string, string>(Required($"{prefix}.{n}.Key"), Optional($"{prefix}.{n}.Value") ?? string.Empty))];

        public List<Ec2Filter> Filters() =>
            [.. Indexes("Filter").Select(n => new Ec2Filter(Required($"Filter.{n}.Name"), List($"Filter.{n}.Value")))];

        public static IPAddress ParseAddress(string text, string name) =>
            IPAddress.TryParse(text, out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? a
                : throw new BadParameterException(Ec2ErrorCodes.InvalidParameterValue, $"Invalid value '{text}' for {name}");

        /// <summary>An IPv6 prefix in canonical network form (EC2 refuses host bits and IPv4 here).</summary>
        public static IPNetwork ParseIpv6Prefix(string text, string name) =>
            IPNetwork.TryParse(text, out var c) && c.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? c
                : throw new BadParameterException(Ec2ErrorCodes.InvalidParameterValue, $"Invalid value '{text}' for {name}");

        public static IPNetwork ParseCidr(string text, string name) =>
            IPNetwork.TryParse(text, out var c) ? c
                : throw new BadParameterException(Ec2ErrorCodes.InvalidParameterValue, $"Invalid value '{text}' for {name}");
    }
}
