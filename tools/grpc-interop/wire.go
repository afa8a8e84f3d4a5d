package main

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// parseStrings returns the string (length-delimited) fields of a message by field number; other fields are skipped.
func parseStrings(message []byte) (map[protowire.Number]string, error) {
	fields := map[protowire.Number]string{}
	for len(message) > 0 {
		number, kind, n := protowire.ConsumeTag(message)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		message = message[n:]
		if kind == protowire.BytesType {
			value, m := protowire.ConsumeBytes(message)
			if m < 0 {
				return nil, protowire.ParseError(m)
			}
			fields[number] = string(value)
			message = message[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(number, kind, message)
		if m < 0 {
			return nil, fmt.Errorf("field %d: %w", number, protowire.ParseError(m))
		}
		message = message[m:]
	}
	return fields, nil
}

func appendString(b []byte, number protowire.Number, value string) []byte {
	b = protowire.AppendTag(b, number, protowire.BytesType)
	return protowire.AppendString(b, value)
}

func appendVarint(b []byte, number protowire.Number, value uint64) []byte {
	b = protowire.AppendTag(b, number, protowire.VarintType)
	return protowire.AppendVarint(b, value)
}

// ipAllocation is rpc.IPAllocationMetadata: IPv4Addr = 1, DeviceNumber = 3, RouteTableId = 4.
func ipAllocation(ipv4 string, device, table uint64) []byte {
	var b []byte
	b = appendString(b, 1, ipv4)
	b = appendVarint(b, 3, device)
	return appendVarint(b, 4, table)
}

// addNetworkReply is rpc.AddNetworkReply: Success = 1, IPAllocationMetadata = 2, UseExternalSNAT = 5,
// VPCv4CIDRs = 6, PodENIMAC = 8, NetworkPolicyMode = 13.
func addNetworkReply(containerID string, requestBytes int) []byte {
	var b []byte
	b = appendVarint(b, 1, 1)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, ipAllocation("10.1.2.3", 1, 2))
	b = appendVarint(b, 5, 1)
	b = appendString(b, 6, "10.1.0.0/16")
	b = appendString(b, 6, "100.64.0.0/16")
	b = appendString(b, 8, containerID)
	return appendString(b, 13, fmt.Sprintf("request-bytes=%d", requestBytes))
}

// delNetworkReply is rpc.DelNetworkReply: Success = 1, IPAllocationMetadata = 2, NetworkPolicyMode = 6.
func delNetworkReply(policy string) []byte {
	var b []byte
	b = appendVarint(b, 1, 1)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendBytes(b, ipAllocation("10.1.2.3", 1, 2))
	return appendString(b, 6, policy)
}
