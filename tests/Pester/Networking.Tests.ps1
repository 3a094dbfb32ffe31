# Networks, security groups and public addresses as a user types them, on the 3-host lab (Linux and root only).
# One network, one group, one instance (not waited for) and one address, shared by the specs and removed at the end.
# Pester 6; see Common.ps1. Run under flock /run/lock/vf-dev-lab.lock.
BeforeDiscovery {
    $canRunLab = $IsLinux -and ((id -u) -eq 0)
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
}

Describe 'Networks, security groups and public addresses' -Tag Lab -Skip:(-not $canRunLab) {
    BeforeAll {
        Initialize-VfTestLab | Out-Null
        $net = Get-VfTestName pnet
        $group = Get-VfTestName pweb
        $instance = Get-VfTestName pnic
        $subnet = '172.31.213.0/28'
        $pool = '203.0.113.200-203.0.113.220'
    }
    AfterAll {
        Get-VfAddress -ErrorAction SilentlyContinue | Where-Object Instance -EQ $instance | Remove-VfAddress -Confirm:$false
        Get-VfInstance $instance -ErrorAction SilentlyContinue | Remove-VfInstance -Force -Confirm:$false
        Remove-VfSecurityGroup $group -Confirm:$false -ErrorAction SilentlyContinue
        Remove-VfNetwork $net -Confirm:$false -ErrorAction SilentlyContinue
    }

    Context 'Networks' {
        It 'creates nothing under -WhatIf' {
            New-VfNetwork -Name $net -Mode Nat -Subnet $subnet -Host vfh2, vfh3 -WhatIf
            Get-VfNetwork | Where-Object Name -EQ $net | Should -BeNullOrEmpty
        }

        It 'creates a Nat network on two hosts' {
            $created = New-VfNetwork -Name $net -Mode Nat -Subnet $subnet -Host vfh2, vfh3 -Description 'pester' -Confirm:$false
            $created.Name | Should -Be $net
            $created.Mode | Should -Be 'Nat'
            $created.Hosts | Should -Be 'vfh2', 'vfh3'
            $created.Bridge | Should -Be "vfn$($created.Id)"
        }

        It 'converges when run again with the same definition, and says so with -Verbose' {
            $verbose = New-VfNetwork -Name $net -Mode Nat -Subnet $subnet -Host vfh2, vfh3 -Description 'pester' -Confirm:$false -Verbose 4>&1
            ($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n" |
                Should -Match 'exists with this definition'
            @(Get-VfNetwork $net).Count | Should -Be 1
        }

        It 'refuses a different network under the same name with NetworkExists' {
            { New-VfNetwork -Name $net -Mode Isolated -Subnet 172.31.213.16/28 -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ErrorId 'NetworkExists,*'
        }

        It 'shows networks as a table' {
            $table = Get-VfNetwork $net | ConvertTo-VfTable
            $table | Should -Match '(?m)^Name\s+Mode\s+Subnet\s+Span\s+Id\s+Bridge\s+Hosts'
            $table | Should -Match "$([regex]::Escape($net))\s+Nat\s+172\.31\.213\.0/28"
        }

        It 'completes -Network' {
            Get-VfCompletion "New-VfInstance -Image vflinux -Network $($net.Substring(0, 5))" | Should -Contain $net
        }

        It 'reports an unknown network with NetworkNotFound' {
            { Get-VfNetwork nosuch-net -ErrorAction Stop } | Should -Throw -ErrorId 'NetworkNotFound,*'
        }
    }

    Context 'Security groups' {
        It 'creates a group with a rule' {
            $created = New-VfSecurityGroup $group -Description 'pester web' -Rule 'allow tcp 22 from 0.0.0.0/0' -Confirm:$false
            $created.Name | Should -Be $group
            @((Get-VfSecurityGroup $group).Rules).Count | Should -Be 1
        }

        It 'refuses a second group of the same name with SecurityGroupExists' {
            { New-VfSecurityGroup $group -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'SecurityGroupExists,*'
        }

        It 'grants access with -Protocol and -PortRange' {
            $after = Grant-VfNetworkAccess -Group $group -Protocol Tcp -PortRange 8000-8080 -Source 198.51.100.0/24 -PassThru -Confirm:$false
            @($after.Rules).Count | Should -Be 2
            $after.Rules | Where-Object { $_.FromPort -eq 8000 -and $_.ToPort -eq 8080 -and $_.Source -eq '198.51.100.0/24' } |
                Should -Not -BeNullOrEmpty
        }

        It 'grants access with -Rule text, and a repeated grant changes nothing and says so with -Verbose' {
            Grant-VfNetworkAccess $group -Rule 'allow icmp from 198.51.100.0/24' -Confirm:$false
            $verbose = Grant-VfNetworkAccess $group -Rule 'allow icmp from 198.51.100.0/24' -Confirm:$false -Verbose 4>&1
            ($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n" |
                Should -Match 'already has'
            @((Get-VfSecurityGroup $group).Rules).Count | Should -Be 3
        }

        It 'revokes a rule, and keeps it under -WhatIf' {
            Revoke-VfNetworkAccess $group -Rule 'allow icmp from 198.51.100.0/24' -WhatIf
            @((Get-VfSecurityGroup $group).Rules).Count | Should -Be 3
            $after = Revoke-VfNetworkAccess $group -Protocol Icmp -Source 198.51.100.0/24 -PassThru -Confirm:$false
            @($after.Rules).Count | Should -Be 2
        }

        It 'refuses <Why> with <Id>' -ForEach @(
            @{ Why = 'an unknown group'; Id = 'SecurityGroupNotFound'; Run = { Grant-VfNetworkAccess nosuch-group -Rule 'allow tcp 22 from 0.0.0.0/0' -Confirm:$false -ErrorAction Stop } }
            @{ Why = 'a port out of range'; Id = 'InvalidRulePort'; Run = { Grant-VfNetworkAccess $group -Protocol Tcp -PortRange 70000 -Confirm:$false -ErrorAction Stop } }
        ) {
            $Run | Should -Throw -ErrorId "$Id,*"
        }

        It 'shows groups as a table' {
            $table = Get-VfSecurityGroup $group | ConvertTo-VfTable
            $table | Should -Match '(?m)^Name\s+Description\s+Rules'
            $table | Should -Match "$([regex]::Escape($group))\s+pester web"
        }

        It 'completes -SecurityGroup and -Group' {
            $prefix = $group.Substring(0, 5)
            Get-VfCompletion "New-VfInstance -Image vflinux -SecurityGroup $prefix" | Should -Contain $group
            Get-VfCompletion "Grant-VfNetworkAccess -Group $prefix" | Should -Contain $group
        }
    }

    Context 'An instance on the network in the group' {
        It 'gets an address reserved on the network and joins the group' {
            $made = New-VfInstance -Image vflinux -Name $instance -Network $net -SecurityGroup $group -Host vfh2 `
                -InstanceType t1.micro -Confirm:$false
            $made.Networks | Should -Contain $net
            $made.SecurityGroups | Should -Contain $group
            (Get-VfNetwork $net).Reservations.Instance | Should -Contain $instance
        }

        It 'keeps a network and a group that an instance uses (NetworkInUse, SecurityGroupInUse)' {
            { Remove-VfNetwork $net -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'NetworkInUse,*'
            { Remove-VfSecurityGroup $group -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'SecurityGroupInUse,*'
        }

        It 'finds the hosts'' networks in sync (Test-VfHost -IncludeNetwork, Repair-VfNetwork -WhatIf)' {
            $facts = Test-VfHost -Host vfh2 -IncludeNetwork
            $facts.Problems | Where-Object { $_ -like 'network*' } | Should -BeNullOrEmpty
            Repair-VfNetwork -Host vfh2, vfh3 -WhatIf | ForEach-Object { $_.InSync | Should -BeTrue -Because ($_.Problems -join '; ') }
        }
    }

    Context 'Public addresses' {
        BeforeAll {
            $script:address = $null
        }

        It 'allocates a free address of the fleet''s pool (-Pool extends the pool)' {
            $taken = @(Get-VfAddress).Address
            $made = New-VfAddress -Pool $pool -Confirm:$false
            $script:address = $made.Address
            $made.Address | Should -Match '^\d+\.\d+\.\d+\.\d+$'
            $made.Address | Should -Not -BeIn $taken
            $made.Instance | Should -BeNullOrEmpty
        }

        It 'associates it with the instance in one call' {
            $set = Set-VfAddress $script:address -Instance $instance -Confirm:$false
            $set.Instance | Should -Be $instance
            $set.Host | Should -Be 'vfh2'
            $set.PrivateAddress | Should -Be ((Get-VfNetwork $net).Reservations | Where-Object Instance -EQ $instance).Address
        }

        It 'shows addresses as a table and as JSON' {
            $table = Get-VfAddress $script:address | ConvertTo-VfTable
            $table | Should -Match '(?m)^Address\s+Instance\s+Host\s+Interface\s+Network\s+PrivateAddress'
            $table | Should -Match "$([regex]::Escape($script:address))\s+$([regex]::Escape($instance))\s+vfh2"
            (Get-VfAddress -Instance $instance | Select-Object Address, Host | ConvertTo-Json | ConvertFrom-Json).Address |
                Should -Be $script:address
        }

        It 'disassociates it and keeps it allocated' {
            $set = Set-VfAddress $script:address -Disassociate -Confirm:$false
            $set.Instance | Should -BeNullOrEmpty
            (Get-VfAddress $script:address).Address | Should -Be $script:address
        }

        It 'releases it with Remove-VfAddress, and keeps it under -WhatIf' {
            Remove-VfAddress $script:address -WhatIf
            (Get-VfAddress $script:address).Address | Should -Be $script:address
            Remove-VfAddress $script:address -Confirm:$false
            Get-VfAddress | Where-Object Address -EQ $script:address | Should -BeNullOrEmpty
        }

        It 'reports an unknown address with AddressNotFound' {
            { Set-VfAddress 203.0.113.254 -Disassociate -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'AddressNotFound,*'
        }
    }

    Context 'Clean-up' {
        It 'removes the instance, the group and the network' {
            Remove-VfInstance $instance -Force -Confirm:$false
            Remove-VfSecurityGroup $group -Confirm:$false
            Remove-VfNetwork $net -Confirm:$false
            Get-VfSecurityGroup | Where-Object Name -EQ $group | Should -BeNullOrEmpty
            Get-VfNetwork | Where-Object Name -EQ $net | Should -BeNullOrEmpty
        }
    }
}
